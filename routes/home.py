from starlette.routing import Route

from hxauth.pages import clear_flash, flash_message, render


async def home(request):
    """"Hi {name}!" for a logged-in user (and a reminder to confirm the address), links to log in or sign up otherwise."""
    return clear_flash(request, render(request, "home.html", {"flash": flash_message(request), "notice": None}))


routes = [Route("/", home, methods=["GET"])]
