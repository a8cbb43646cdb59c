"""`make bench`: hxauth measured against a bare Starlette page (the floor). See docs/performance.md."""
