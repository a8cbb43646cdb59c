"""Rate limits: what counts against a limit, and what a refused attempt costs."""

from app import create_app
from conftest import PASSWORD, create_user, csrf_token, log_in, make_client, make_settings


async def log_out(client):
    token = await csrf_token(client, "/accounts/logout")
    await client.post("/accounts/logout", data={"csrf_token": token})


async def test_successful_logins_do_not_count_against_the_per_client_limit(tmp_path):
    """Many people behind one address (an office, a school) log in all day: only failures are limited."""
    app = create_app(make_settings(tmp_path, login_client_limit=2))
    async with app.router.lifespan_context(app), make_client(app) as client:
        await create_user(app)
        for _ in range(3):
            assert (await log_in(client)).status_code == 303
            await log_out(client)
        for _ in range(2):
            assert (await log_in(client, password="wrong password here")).status_code == 422
        assert (await log_in(client)).status_code == 429


async def test_retrying_during_a_lockout_does_not_extend_it(tmp_path):
    app = create_app(make_settings(tmp_path, login_account_limit=2))
    async with app.router.lifespan_context(app), make_client(app) as client:
        await create_user(app)
        for _ in range(2):
            assert (await log_in(client, password="wrong password here")).status_code == 422
        for _ in range(3):
            assert (await log_in(client, password="wrong password here")).status_code == 429
        # The window passes for the two failures that were tried: the owner gets in.
        window = app.state.settings.login_account_window
        await app.state.db.execute("UPDATE rate_limit_hits SET hit_at = hit_at - :w", {"w": window})
        assert (await log_in(client)).status_code == 303


async def test_refused_signups_do_not_count_either(tmp_path):
    app = create_app(make_settings(tmp_path, signup_limit=1))
    async with app.router.lifespan_context(app), make_client(app) as client:
        statuses = []
        for number in range(3):
            token = await csrf_token(client, "/accounts/signup")
            data = {"csrf_token": token, "name": "Ann", "email": f"ann{number}@example.com", "password": PASSWORD}
            statuses.append((await client.post("/accounts/signup", data=data)).status_code)
        assert statuses == [303, 429, 429]
        assert await app.state.db.fetch_val("SELECT count(*) FROM rate_limit_hits") == 1
