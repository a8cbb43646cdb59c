"""Rendering: templates reload in development, are compiled once in production."""

import os

import jinja2
import pytest

from app import create_app
from conftest import make_settings
from hxauth import pages


@pytest.mark.parametrize("env, debug, reloads", [("development", False, True), ("production", False, False), ("production", True, True)])
def test_an_edited_template_is_seen_at_once_in_development_or_with_debug(tmp_path, monkeypatch, env, debug, reloads):
    create_app(make_settings(tmp_path, env=env, debug=debug))
    folder = tmp_path / "templates"
    folder.mkdir()
    page = folder / "page.html"
    page.write_text("before")
    monkeypatch.setattr(pages.environment, "loader", jinja2.FileSystemLoader(folder))
    assert pages.environment.get_template("page.html").render() == "before"
    page.write_text("after")
    os.utime(page, (1, 1))  # a clearly different modification time
    assert pages.environment.get_template("page.html").render() == ("after" if reloads else "before")
