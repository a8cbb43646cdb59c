"""Rendering: templates reload in development, are compiled once in production."""

import os

import jinja2
import pytest

from app import create_app
from conftest import make_settings
from hxauth import pages


@pytest.mark.parametrize("env, debug, reloads", [("development", False, True), ("production", False, False), ("production", True, True)])
def test_an_edited_template_is_seen_at_once_in_development_or_with_debug(tmp_path, monkeypatch, env, debug, reloads):
    mail = {"mail_url": "smtp://127.0.0.1:9", "base_url": "https://hxauth.example"}  # required in production
    create_app(make_settings(tmp_path, env=env, debug=debug, **mail))
    folder = tmp_path / "templates"
    folder.mkdir()
    page = folder / "page.html"
    page.write_text("before")
    monkeypatch.setattr(pages.environment, "loader", jinja2.FileSystemLoader(folder))
    assert pages.environment.get_template("page.html").render() == "before"
    page.write_text("after")
    os.utime(page, (1, 1))  # a clearly different modification time
    assert pages.environment.get_template("page.html").render() == ("after" if reloads else "before")


async def test_a_partial_request_for_a_page_without_the_block_gets_the_whole_page(app, client, monkeypatch):
    """A template of your own that does not extend base.html has no `content` block: htmx gets all of it, not a 500."""
    from starlette.routing import Route

    from conftest import HX

    loader = jinja2.ChoiceLoader([jinja2.DictLoader({"plain.html": "<p>A plain page</p>"}), pages.environment.loader])
    monkeypatch.setattr(pages.environment, "loader", loader)
    app.router.routes.append(Route("/plain", lambda request: pages.render(request, "plain.html")))
    response = await client.get("/plain", headers=HX)
    assert response.status_code == 200 and response.text == "<p>A plain page</p>"
