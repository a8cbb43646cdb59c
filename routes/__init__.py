"""Every URL of the site, area by area."""

from routes import accounts, health, home, mailbox, settings

routes = [*home.routes, *accounts.routes, *settings.routes, *health.routes, *mailbox.routes]
