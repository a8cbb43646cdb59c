"""The floor: a bare Starlette app serving one constant HTML page, the size of hxauth's home page.

No middleware, no template, no database: what one uvicorn worker can serve at best on
this machine. `FLOOR_PAGE_BYTES` sets the page size (the bench passes the home page's).
"""

import os

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

SIZE = int(os.environ.get("FLOOR_PAGE_BYTES", "1200"))
HEAD = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>floor</title></head><body>\n"
TAIL = "</body></html>\n"
PAGE = HEAD + "<p>" + "x" * max(0, SIZE - len(HEAD) - len(TAIL) - 8) + "</p>\n" + TAIL


async def page(request):
    return HTMLResponse(PAGE)


app = Starlette(routes=[Route("/", page)])
