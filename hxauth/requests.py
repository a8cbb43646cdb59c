"""What a handler reads about its request beyond Starlette's `Request`: the form FormGuard parsed."""

from starlette.datastructures import FormData
from starlette.requests import Request


def posted_form(request: Request) -> FormData:
    """The submitted form's fields, as FormGuard parsed and checked them (every POST passes through it).

    Like `await request.form()`, a repeated field answers `get` with its last value.
    """
    return request.scope["state"]["form"]
