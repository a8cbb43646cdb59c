"""Every URL of the site, area by area."""

from routes import accounts, health, home, mailbox

routes = [*home.routes, *accounts.routes, *health.routes, *mailbox.routes]
