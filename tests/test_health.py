"""/healthz and /readyz, for load balancers."""


async def test_healthz_says_the_process_is_alive(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok"


async def test_readyz_checks_the_database_and_migrations(client):
    response = await client.get("/readyz")
    assert response.status_code == 200 and response.text == "ready"


async def test_readyz_is_503_when_the_database_is_unreachable(app, client, unreachable_database):
    app.state.db = unreachable_database
    assert (await client.get("/readyz")).status_code == 503
    assert (await client.get("/healthz")).status_code == 200


async def test_readyz_is_503_while_a_migration_is_pending(app, client):
    await app.state.db.execute("DELETE FROM schema_migrations WHERE version = '0003_create_rate_limit_hits'")
    response = await client.get("/readyz")
    assert response.status_code == 503 and "0003_create_rate_limit_hits" in response.text


async def test_readyz_is_503_before_any_migration(app, client):
    await app.state.db.execute("DROP TABLE schema_migrations")
    assert (await client.get("/readyz")).status_code == 503
