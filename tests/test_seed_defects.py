"""The seed system's measured defects, and where hxauth shows it does not have them.

| seed defect                                         | test                                                                  |
|-----------------------------------------------------|-----------------------------------------------------------------------|
| login broken by an unpinned dependency              | test_every_dependency_has_an_upper_bound (here), test_login.py        |
| a replayed cookie still logged in after logout      | test_sessions.py::test_a_replayed_cookie_is_anonymous_after_logout    |
| one user handed another's session under concurrency | test_sessions.py::test_concurrent_requests_each_see_their_own_user    |
| /static/../main.py served                           | test_errors.py::test_files_outside_the_static_folders_are_not_served  |
| stored XSS through the name                         | test_a_name_with_html_is_shown_as_text (here)                         |
| 500 on missing fields                               | test_login.py::test_missing_fields_get_422_not_500, test_signup.py    |
| 500 on passwords over 72 bytes                      | test_login.py::test_a_password_over_72_bytes_is_not_truncated          |
| case-variant duplicate accounts                     | test_signup.py::test_email_taken_in_any_letter_case_is_refused_cleanly |
| timing leak for unknown emails (330 ms vs 6 ms)     | test_passwords.py::test_an_unknown_email_costs_one_verify_like_a_wrong_password |
| every page blocked while one login hashes           | test_passwords.py::test_pages_are_served_while_a_login_is_hashing     |
"""

import re
import tomllib
from pathlib import Path

from conftest import create_user, log_in, make_client

ROOT = Path(__file__).resolve().parent.parent


def test_every_dependency_has_an_upper_bound():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    for requirement in requirements:
        if requirement.startswith("hxauth"):
            continue
        assert re.search(r"<\s*\d", requirement), f"{requirement} has no upper bound"


async def test_a_name_with_html_is_shown_as_text(app):
    name = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    await create_user(app, name=name, email="xss@example.com")
    async with make_client(app) as client:
        await log_in(client, email="xss@example.com")
        for path in ("/", "/accounts/logout"):
            html = (await client.get(path)).text
            assert "<script>alert" not in html and "<img src=x" not in html
        assert "Hi &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in (await client.get("/")).text
