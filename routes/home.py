from starlette.routing import Route

from hxauth.pages import render


async def home(request):
    """"Hi {name}!" for a logged-in user, links to log in or sign up otherwise."""
    return render(request, "home.html")


routes = [Route("/", home, methods=["GET"])]
