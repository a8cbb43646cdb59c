"""Every URL of the site, area by area."""

from routes import accounts, home

routes = [*home.routes, *accounts.routes]
