"""hxauth.accounts, the context behind the routes: sessions and the user type they return."""

from hxauth import accounts


async def test_a_session_token_finds_its_user_until_it_is_deleted(app, user):
    token = await accounts.create_session(app.state, user["id"])
    found = await accounts.get_user_by_session_token(app.state, token)
    assert found == accounts.User(id=user["id"], name="Ann", email="ann@example.com")
    # The same object is request.user: Starlette reads these three.
    assert (found.is_authenticated, found.display_name, found.identity) == (True, "Ann", str(user["id"]))
    assert await accounts.get_user_by_session_token(app.state, "another-" + token[8:]) is None
    await accounts.delete_session_token(app.state, token)
    assert await accounts.get_user_by_session_token(app.state, token) is None


async def test_the_database_keeps_only_the_hash_of_a_session_token(app, user):
    token = await accounts.create_session(app.state, user["id"])
    stored = await app.state.db.fetch_val("SELECT token_hash FROM sessions")
    assert token not in stored and len(stored) == 64
