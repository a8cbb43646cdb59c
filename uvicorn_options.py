"""The Makefile's UVICORN_OPTIONS, read from the Makefile itself: tests/helpers.py's running_server and the bench
(bench/servers.py) run uvicorn as `make run` does, and a change to the Makefile reaches both. Needs a checkout
(the Makefile beside this file), so it is not part of the installed package."""

import re
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parent / "Makefile"


def uvicorn_options(limit_concurrency: int | None = None) -> list[str]:
    """The options as a list; a test of the concurrency limit itself gives a small `limit_concurrency` in place of
    the Makefile's 512."""
    options = re.search(r"^UVICORN_OPTIONS = (.*)$", MAKEFILE.read_text(), re.MULTILINE).group(1).split()
    if limit_concurrency is not None:
        options[options.index("--limit-concurrency") + 1] = str(limit_concurrency)
    return options
