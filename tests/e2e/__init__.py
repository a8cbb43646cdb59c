"""Browser tests: Playwright driving Debian's Chromium against a real uvicorn.

A package, so that its conftest is imported as `e2e.conftest` and does not
shadow `tests/conftest.py` (which the other test modules import as `conftest`).
"""
