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


def test_the_field_escapes_every_value_as_autoescape_would_and_keeps_markup():
    """`field` is Python (hxauth/pages.py) with its own escaping of str values: the same as markupsafe's, byte
    for byte; Markup is written as it is; an undefined variable is still an error."""
    from markupsafe import Markup, escape

    hostile = "\"'<>&"
    html = pages.field("f", hostile, error=hostile, value=hostile, hint=Markup("<em>hint</em>"), autocomplete=hostile)
    assert isinstance(html, Markup)
    assert "<>" not in html and "\"'" not in html
    assert html.count(escape(hostile)) == 4  # label, error, value, autocomplete
    assert '<p class="hint" id="f-hint"><em>hint</em></p>' in html
    assert 'aria-describedby="f-hint f-error" aria-invalid="true"' in html
    assert pages.field("n", "N", value=3).count('value="3"') == 1
    with pytest.raises(jinja2.UndefinedError):
        pages.environment.from_string('{{ field("x", "X", value=missing) }}').render()


def test_a_field_in_a_template_is_the_same_as_called_from_python():
    template = pages.environment.from_string('{{ field("email", "Email", "Wrong", value="<a>", type="email", autofocus=True) }}')
    assert template.render() == str(pages.field("email", "Email", "Wrong", value="<a>", type="email", autofocus=True))
