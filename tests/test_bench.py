"""`make bench` end to end with a tiny load: every row comes out, with positive figures. No timing assertions."""

import json
import shutil


from bench import run
from conftest import sqlite_only, unavailable

pytestmark = sqlite_only  # the bench runs the app on SQLite whatever the suite's database: once is enough

ROWS = {"floor", "home_anonymous", "home_logged_in", "login_page", "login", "storm_2", "storm_2_page", "argon2"}
TINY = ["--rounds", "1", "--duration", "0.3", "--connections", "4", "--storm", "2", "--storm-duration", "0.8",
        "--probe-connections", "2", "--argon2-times", "1"]


def test_the_bench_reports_every_row(tmp_path, monkeypatch):
    """With the Python load generator, the one every machine has (wrk takes at least a second per target)."""
    for name, value in {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "8", "ARGON2_PARALLELISM": "1"}.items():
        monkeypatch.setenv(name, value)

    run.main([*TINY, "--loadgen", "python", "--out", str(tmp_path)])

    report = json.loads((tmp_path / "latest.json").read_text())
    rows = {row["key"]: row for row in report["rows"]}
    assert set(rows) == ROWS
    for row in rows.values():
        assert row["rps"] > 0 and row["p50_ms"] > 0 and row["p99_ms"] > 0, row
        assert row["rps_ratio"] > 0 and row["p50_ratio"] > 0, row
        assert row["errors"] == 0, row
        if row["key"] != "argon2":
            assert row["rss_mb"] > 0 and row["rss_ratio"] > 0, row
    for key in ("floor", "home_anonymous", "home_logged_in", "login_page"):
        assert rows[key]["cpu_us"] > 0 and rows[key]["cpu_ratio"] > 0, rows[key]
    assert report["load_generator"].startswith("bench/loadgen.py")
    # The login is compared with raw verifies timed around it in the same round, as pages with the floor.
    login = rows["login"]["runs"][0]
    assert rows["login"]["p50_ratio"] == login["p50_ms"] / login["argon2_ms"]
    table = (tmp_path / "latest.md").read_text()
    for row in rows.values():
        assert f"| {row['label']} |" in table


def test_wrk_and_its_script_report_a_run(tmp_path):
    if not shutil.which("wrk"):
        unavailable("wrk is not installed (apt-get install wrk; the bench falls back to bench/loadgen.py)")
    floor = run.Server("bench.floor:app", {**run.os.environ, "FLOOR_PAGE_BYTES": "1000"}, tmp_path / "floor.log")
    try:
        result = run.LoadGenerator("wrk").run(floor.url + "/", 2, 1, method="POST", body="a=1", headers=("X-Test: 1",))
    finally:
        floor.stop()
    assert result["requests"] > 0 and result["rps"] > 0 and result["p50_ms"] > 0
    assert result["errors"] > 0  # the floor has no POST route: every answer is a 405, counted as an error
