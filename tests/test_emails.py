"""Look-alike emails: one normalised form (email-validator, NFKC, lower case) per address, and what cannot be one refused."""

import time

import pytest

from conftest import PASSWORD, count, log_in, make_client, submit
from hxauth.accounts import check_email, normalize_email


async def sign_up(client, email):
    return await submit(client, "/accounts/signup", {"name": "Bob", "email": email, "password": PASSWORD})


@pytest.mark.parametrize(
    "first, second",
    [
        ("bob@example.com", "ｂｏｂ@example.com"),  # fullwidth letters
        ("bob@example.com", "bob@ｅｘａｍｐｌｅ.ｃｏｍ"),
        ("bob@example.com", "bob＠example.com"),  # a fullwidth at sign
        ("bob@example.com", "BOB@EXAMPLE.COM"),
        ("bob@exämple.com", "bob@xn--exmple-cua.com"),  # an IDN domain and its punycode
        ("bob@xn--exmple-cua.com", "Bob@EXÄMPLE.com"),
    ],
)
async def test_a_look_alike_of_an_address_is_the_same_account(app, first, second):
    async with make_client(app) as client:
        assert (await sign_up(client, first)).status_code == 303
        assert (await sign_up(client, second)).status_code == 409
        assert (await log_in(client, email=second)).status_code == 303  # and logs in to it
    assert await count(app, "SELECT count(*) FROM users") == 1


@pytest.mark.parametrize(
    "email",
    [
        "bob\u200d@example.com",  # zero-width joiner
        "b\u200bob@example.com",  # zero-width space
        "bob@exa\u200dmple.com",
        "\u202ebob@example.com",  # a bidi override
        "bo\u00adb@example.com",  # a soft hyphen
        '"bob"@example.com',  # a quoted local part
        '"bob smith"@example.com',
        "bob@[127.0.0.1]",
        "bob@localhost",
        "bob..smith@example.com",
    ],
)
async def test_invisible_characters_quoted_local_parts_and_odd_domains_are_refused(app, email):
    async with make_client(app) as client:
        response = await sign_up(client, email)
    assert response.status_code == 422 and "Enter an email address like name@example.com." in response.text
    assert await count(app, "SELECT count(*) FROM users") == 0


async def test_the_stored_form_is_the_normalised_one(app):
    async with make_client(app) as client:
        assert (await sign_up(client, "  Bob@XN--EXMPLE-CUA.com ")).status_code == 303
    assert await app.state.db.fetch_val("SELECT email FROM users") == "bob@exämple.com"


def test_a_huge_address_is_refused_without_costing_the_event_loop_much():
    started = time.perf_counter()
    for huge in ("\u0301" * 30_000, "b" * 60_000 + "@example.com"):
        assert check_email(huge)[1] == "Use at most 254 characters."
    assert time.perf_counter() - started < 0.05  # 80 ms each when the validator saw them


@pytest.mark.parametrize("email", ["ｂｏｂ@example.com", "bob@xn--exmple-cua.com", " BOB@Example.COM", "bob@example.com"])
def test_normalising_twice_changes_nothing_and_the_result_is_valid(email):
    once = normalize_email(email)
    assert normalize_email(once) == once and check_email(once) == (once, None)
