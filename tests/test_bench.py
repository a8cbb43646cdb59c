"""`make bench` end to end with a tiny load: every row comes out, with positive figures. No timing assertions."""

import contextlib
import json
import os
import shutil
import subprocess

import httpx

from bench import run
from bench.load import LoadGenerator
from bench.servers import ROOT, Server, baseline_checkout
from conftest import POSTGRES, TEST_DATABASE_URL, sqlite_only, unavailable
from uvicorn_options import uvicorn_options

pytestmark = sqlite_only  # the bench runs its own databases whatever the suite's database: once is enough

ROWS = {"floor", "home_anonymous", "home_logged_in", "login_page", "login", "storm_2", "storm_2_page", "argon2"}
PAGES = ("floor", "home_anonymous", "home_logged_in", "login_page")
TINY = ["--rounds", "1", "--duration", "0.3", "--connections", "4", "--storm", "2", "--storm-duration", "0.8",
        "--probe-connections", "2", "--argon2-times", "1", "--loadgen", "python"]
# The PostgreSQL page's database: the bench's own, the suite's when it runs on PostgreSQL, else the bench's default.
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL") or (TEST_DATABASE_URL if POSTGRES else run.DEFAULT_POSTGRES_URL)


def fast_argon2(monkeypatch):
    for name, value in {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "8", "ARGON2_PARALLELISM": "1"}.items():
        monkeypatch.setenv(name, value)


def check_row(row):
    assert row["rps"] > 0 and row["p50_ms"] > 0 and row["p99_ms"] > 0, row
    assert row["rps_ratio"] > 0 and row["p50_ratio"] > 0, row
    assert row["errors"] == 0, row


def test_the_bench_reports_every_row(tmp_path, monkeypatch):
    """With the Python load generator, the one every machine has (wrk takes at least a second per target);
    with the PostgreSQL page where a server answers (a skip with the reason, a failure under CI, where not)."""
    fast_argon2(monkeypatch)

    run.main([*TINY, "--postgres-url", POSTGRES_URL, "--out", str(tmp_path)])

    report = json.loads((tmp_path / "latest.json").read_text())
    rows = {row["key"]: row for row in report["rows"]}
    table = (tmp_path / "latest.md").read_text()
    postgres = "home_logged_in_postgresql" in rows
    assert set(rows) == ROWS | ({"home_logged_in_postgresql"} if postgres else set())
    for row in rows.values():
        check_row(row)
        if row["key"] != "argon2":
            assert row["rss_mb"] > 0 and row["rss_ratio"] > 0, row
    for key in PAGES + (("home_logged_in_postgresql",) if postgres else ()):
        assert rows[key]["cpu_us"] > 0 and rows[key]["cpu_ratio"] > 0, rows[key]
    # The app as shipped, and beside it the same app on uvicorn's defaults, between the same floor runs.
    assert report["uvicorn_options"] == uvicorn_options() and " ".join(uvicorn_options()) in table
    cost = table.split("Cost of the shipped uvicorn options")[1]
    for key in PAGES[1:]:
        defaults = rows[key]["defaults"]
        check_row(defaults)
        current, other = rows[key]["runs"][0], defaults["runs"][0]
        assert current["floor"] == other["floor"]
        assert defaults["shipped_ratio"] == current["rps"] / other["rps"]
        assert defaults["shipped_cpu_ratio"] == other["cpu_us"] / current["cpu_us"]
        assert f"| {rows[key]['label']} | " in cost
    assert "defaults" not in rows["floor"] and "defaults" not in rows["login"]
    assert report["load_generator"].startswith("bench/loadgen.py")
    # The login is compared with raw verifies timed around it in the same round, as pages with the floor.
    login = rows["login"]["runs"][0]
    assert rows["login"]["p50_ratio"] == login["p50_ms"] / login["argon2_ms"]
    for row in rows.values():
        assert f"| {row['label']} |" in table
    if not postgres:
        assert report["left_out"] and report["left_out"][0] in table
        unavailable(f"no PostgreSQL page: {report['left_out'][0]}")
    pg = rows["home_logged_in_postgresql"]
    first = pg["runs"][0]
    assert pg["sqlite_ratio"] == first["rps"] / rows["home_logged_in"]["runs"][0]["rps"]
    assert pg["target"] == "sqlite_ratio >= 0.6" and "met" in pg
    assert f"SQLite's logged-in page: {pg['sqlite_ratio']:.2f}" in table


def test_a_baseline_commit_is_measured_beside_the_current_one(tmp_path, monkeypatch):
    """--baseline HEAD: every page of both, against the same floor runs; the worktree is gone afterwards."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        unavailable("not a git checkout: --baseline needs git worktree")
    fast_argon2(monkeypatch)
    checkouts = []

    @contextlib.contextmanager
    def recorded(rev):
        with baseline_checkout(rev) as folder:
            checkouts.append(folder)
            yield folder

    monkeypatch.setattr(run, "baseline_checkout", recorded)
    run.main([*TINY, "--postgres-url", "", "--baseline", "HEAD", "--out", str(tmp_path)])

    report = json.loads((tmp_path / "latest.json").read_text())
    rows = {row["key"]: row for row in report["rows"]}
    table = (tmp_path / "latest.md").read_text()
    for key in PAGES[1:]:
        baseline = rows[key]["baseline"]
        check_row(baseline)
        current, other = rows[key]["runs"][0], baseline["runs"][0]
        assert current["floor"] == other["floor"]  # the same floor runs around both
        assert baseline["change_pct"] == (current["rps"] / other["rps"] - 1) * 100
        assert f"| {rows[key]['label']} | " in table.split("Against the baseline")[1]
    assert "baseline" not in rows["floor"] and "baseline" not in rows["login"]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert report["baseline"] == {"rev": "HEAD", "commit": head}
    worktrees = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True).stdout
    assert len(checkouts) == 1 and not checkouts[0].exists() and str(checkouts[0]) not in worktrees


def test_wrk_and_its_script_report_a_run(tmp_path):
    if not shutil.which("wrk"):
        unavailable("wrk is not installed (apt-get install wrk; the bench falls back to bench/loadgen.py)")
    floor = Server("bench.floor:app", {**os.environ, "FLOOR_PAGE_BYTES": "1000"}, tmp_path / "floor.log")
    try:
        result = LoadGenerator("wrk").run(floor.url + "/", 2, 1, method="POST", body="a=1", headers=("X-Test: 1",))
    finally:
        floor.stop()
    assert result["requests"] > 0 and result["rps"] > 0 and result["p50_ms"] > 0
    assert result["errors"] > 0  # the floor has no POST route: every answer is a 405, counted as an error



def answer_to_a_1_mb_header(url: str):
    try:
        return httpx.get(url + "/", headers={"X-Padding": "x" * (1 << 20)}, timeout=30).status_code
    except httpx.TransportError:
        return "reset"  # refused before all of it was sent


def test_the_shipped_options_reach_the_server(tmp_path):
    """Served with the Makefile's options, a 1 MB request head is refused (their 16 KiB limit); on uvicorn's
    defaults the same request is served: the bench's two apps differ by the options."""
    for options, answers in ((uvicorn_options(), (400, "reset")), ((), (200,))):
        floor = Server("bench.floor:app", {**os.environ, "FLOOR_PAGE_BYTES": "1000"}, tmp_path / "floor.log", options=options)
        try:
            assert answer_to_a_1_mb_header(floor.url) in answers, options
        finally:
            floor.stop()
