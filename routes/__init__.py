"""Every URL of the site, area by area."""

from routes import accounts, confirm_email, health, home, mailbox, passkeys, reset_password, settings, two_factor

routes = [
    *home.routes, *accounts.routes, *reset_password.routes, *confirm_email.routes, *settings.routes, *two_factor.routes,
    *passkeys.routes, *health.routes, *mailbox.routes,
]
