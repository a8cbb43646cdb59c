"""hxauth: signup, login and logout on Starlette + htmx + raw SQL."""
