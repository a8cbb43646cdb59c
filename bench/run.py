"""`make bench`: hxauth's pages and logins, measured against the floor (a bare Starlette page).

Starts `uvicorn app:app` as shipped (the Makefile's UVICORN_OPTIONS; one worker, a fresh
SQLite file, rate limits raised), the same app on uvicorn's defaults, and `uvicorn
bench.floor:app` (uvicorn's defaults) side by side, and, where a PostgreSQL server answers,
a second app on a PostgreSQL database; with `--baseline REV`, also REV's app from a
temporary git worktree (with this Makefile's options). Signs a user up and logs it in on
each over HTTP, then drives the servers with a load generator over loopback: wrk where
installed, else bench/loadgen.py, on other CPUs than the servers' for the page targets
(with 2 CPUs or more). Every round measures every target in turn, each page (and the same
page on uvicorn's defaults, and the baseline's) between two runs of the floor; the table
shows the median of the rounds, and each page's ratio to the floor measured around it
(logins: to raw Argon2 verifies timed in-process just before and after them).
Writes bench/results/latest.{md,json}; docs/performance.md explains the figures.

    python -m bench [--rounds 3] [--duration 5] [--loadgen wrk|python] [--postgres-url URL] [--baseline REV] [--out DIR]
"""

import argparse
import contextlib
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.load import OWASP_MINIMUM, LoadGenerator, argon2_parameters, time_argon2_verify
from bench.report import machine, markdown, summarise
from bench.servers import (ALL_CPUS, LOAD_CPUS, ROOT, SERVER_CPUS, PeakRSS, Server, baseline_checkout, check_requests,
                           cpu_seconds, empty_postgres, prepare, set_cpus, settle)
from uvicorn_options import uvicorn_options

# The storms come from one address: no limit, nor the per-client share of hashing, stands between them and the hasher.
# The account-wide limit cannot go past 100 (NIST's most): enough, since a right password's hit is taken back.
RELAXED_LIMITS = {"LOGIN_ACCOUNT_LIMIT": "1000000000", "LOGIN_CLIENT_LIMIT": "1000000000", "SIGNUP_LIMIT": "1000000000",
                  "HASH_PER_CLIENT": "1000000000", "HASH_QUEUE_LIMIT": "1000000000", "LOGIN_ACCOUNT_WIDE_LIMIT": "100",
                  "LOGIN_DEVICE_LIMIT": "1000000000"}
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/hxauth_bench"  # the bench's own database, emptied each run

# The targets, measured in this order in every round (the floor again after each page); `wanted` is the
# issue's target for the row. The PostgreSQL page runs only where a server answers; its target is against
# the SQLite logged-in page of the same round.
PAGES = [
    ("floor", "floor: bare Starlette constant page", "floor", "/", None),
    ("home_anonymous", "`GET /` anonymous", "app", "/", ("rps_ratio", ">=", 0.45)),
    ("home_logged_in", "`GET /` logged in", "app", "/", ("rps_ratio", ">=", 0.30)),
    ("login_page", "`GET /accounts/login`", "app", "/accounts/login", ("rps_ratio", ">=", 0.45)),
    ("home_logged_in_postgresql", "`GET /` logged in, PostgreSQL", "app_pg", "/", ("sqlite_ratio", ">=", 0.6)),
]
FLOOR_FIELDS = ("rps", "p50_ms", "p99_ms", "cpu_us")
# Served beside "app", each of its pages measured between the same floor runs: the same app on uvicorn's
# defaults (what the shipped options cost), and a baseline commit's app.
COMPANIONS = ("defaults", "baseline")


def measure_page(load: LoadGenerator, server: Server, path: str, options, headers=()) -> dict:
    """One load run on a page: req/s, latencies, peak RSS, and the server's CPU time per request."""
    settle(server, options.settle)
    cpu = cpu_seconds(server.pid)
    with PeakRSS(server.pid) as rss:
        figures = load.run(server.url + path, options.connections, options.duration, headers=headers)
    figures["rss_mb"] = rss.peak
    figures["cpu_us"] = (cpu_seconds(server.pid) - cpu) * 1e6 / max(1, figures["requests"])
    return figures


def one_round(load: LoadGenerator, servers: dict, prepared: dict, options, parameters: dict, number: int) -> dict:
    app = servers["app"]
    figures = {}
    for server in servers.values():
        set_cpus(server.pid, SERVER_CPUS)
    floors = [measure_page(load, servers["floor"], "/", options)]
    for key, _, server_name, path, _ in PAGES[1:]:
        if server_name not in servers:
            continue
        # The companions' same page right beside the current one, between the same floor runs, in the
        # opposite order from one round to the next so that none always runs on the warmer machine.
        runs = [(key, server_name)] + [(f"{other}:{key}", other) for other in COMPANIONS
                                       if other in servers and server_name == "app"]
        for name, server in runs[::-1] if number % 2 == 0 else runs:
            headers = (prepared[server]["logged_in"],) if "logged_in" in key else ()
            figures[name] = measure_page(load, servers[server], path, options, headers)
        floors.append(measure_page(load, servers["floor"], "/", options))
        # Each page against the floor measured just before and just after it: the machine's drift cancels out.
        around = {field: (floors[-2][field] + floors[-1][field]) / 2 for field in FLOOR_FIELDS}
        for name, _ in runs:
            figures[name]["floor"] = around
    figures["floor"] = {**floors[0], **{field: statistics.mean(f[field] for f in floors) for field in FLOOR_FIELDS},
                        "errors": sum(f["errors"] for f in floors)}
    for server in servers.values():  # logins hash on every CPU, as the raw Argon2 figure does
        set_cpus(server.pid, ALL_CPUS)
    login = prepared["app"]["login"]
    settle(app, options.settle)
    raw = [time_argon2_verify(parameters, options.argon2_times)]
    with PeakRSS(app.pid) as rss:
        figures["login"] = load.run(app.url + "/accounts/login", 1, options.duration, **login)
    raw.append(time_argon2_verify(parameters, options.argon2_times))
    figures["login"]["rss_mb"] = rss.peak
    # The login against raw verifies timed just before and just after it, as each page against the floor.
    figures["login"]["argon2_ms"] = (raw[0]["wall_ms"] + raw[1]["wall_ms"]) / 2
    samples = raw[0]["samples_ms"] + raw[1]["samples_ms"]
    figures["argon2"] = {"wall_ms": statistics.median(samples), "cpu_ms": statistics.median(raw[0]["cpus_ms"] + raw[1]["cpus_ms"]),
                         "samples_ms": samples}
    for clients in options.storm:
        settle(app, options.settle)
        warm_up = min(1.0, options.storm_duration / 4)
        with PeakRSS(app.pid) as rss:
            storm = load.start(app.url + "/accounts/login", clients, options.storm_duration, **login)
            time.sleep(warm_up)
            probe = load.run(app.url + "/accounts/login", options.probe_connections, options.storm_duration - 2 * warm_up)
            storm = load.result(storm)
        storm["rss_mb"] = probe["rss_mb"] = rss.peak
        figures[f"storm_{clients}"] = storm
        figures[f"storm_{clients}_page"] = probe
    settle(app, options.settle)
    return figures


def redacted(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5, help="seconds per target and round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--storm", default="4,16,64", help="concurrent logins of each storm")
    parser.add_argument("--storm-duration", type=float, default=10)
    parser.add_argument("--probe-connections", type=int, default=4, help="page clients during a storm")
    parser.add_argument("--argon2-times", type=int, default=5, help="in-process verifies just before and just after each round's login run")
    parser.add_argument("--loadgen", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
                        help="a database the bench may empty, for the PostgreSQL page (default: $BENCH_POSTGRES_URL, "
                             f"else {DEFAULT_POSTGRES_URL}); '' for none")
    parser.add_argument("--baseline", metavar="REV", help="also serve REV's app (a temporary git worktree) and compare every page")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    options = parser.parse_args(argv)
    options.storm = [int(n) for n in options.storm.split(",") if n]
    options.settle = min(0.3, options.duration / 3)
    shipped = uvicorn_options()

    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    load = LoadGenerator(options.loadgen)
    parameters = argon2_parameters()
    options.out.mkdir(parents=True, exist_ok=True)
    left_out, baseline_commit = [], None
    with tempfile.TemporaryDirectory(prefix="hxauth-bench-") as tmp, contextlib.ExitStack() as stack:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "SECRET_KEY": "bench-" + "b" * 48,
            "ENV": "production",  # what ships: templates compiled once, not checked for edits
            "MAIL_URL": "smtp://127.0.0.1:9",  # required in production; nothing listens, and no page measured sends mail
            "BASE_URL": "http://127.0.0.1",  # the servers' own host (any port): production refuses requests for another
            "DEBUG": "false",
            "ARGON2_TIME_COST": str(parameters["time_cost"]),
            "ARGON2_MEMORY_KIB": str(parameters["memory_kib"]),
            "ARGON2_PARALLELISM": str(parameters["parallelism"]),
            **RELAXED_LIMITS,
        }
        servers, prepared = {}, {}
        try:
            servers["app"] = Server("app:app", env, Path(tmp) / "app.log", options=shipped)
            prepared["app"] = prepare(servers["app"])
            servers["defaults"] = Server("app:app", {**env, "DATABASE_URL": f"sqlite:///{Path(tmp) / 'defaults.db'}"},
                                         Path(tmp) / "defaults.log")
            prepared["defaults"] = prepare(servers["defaults"])
            why_not = empty_postgres(options.postgres_url) if options.postgres_url else "no --postgres-url"
            if why_not:
                left_out.append(f"`GET /` logged in on PostgreSQL ({redacted(options.postgres_url)}): {why_not}")
                print(f"bench: no PostgreSQL page: {why_not}", file=sys.stderr, flush=True)
            else:
                servers["app_pg"] = Server("app:app", {**env, "DATABASE_URL": options.postgres_url}, Path(tmp) / "app_pg.log",
                                           options=shipped)
                prepared["app_pg"] = prepare(servers["app_pg"])
            if options.baseline:
                checkout = stack.enter_context(baseline_checkout(options.baseline))
                baseline_commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True,
                                                 text=True, check=True).stdout.strip()
                baseline_env = {**env, "DATABASE_URL": f"sqlite:///{Path(tmp) / 'baseline.db'}",
                                "PYTHONPATH": os.pathsep.join([str(checkout), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
                # This Makefile's options, not REV's: the comparison is of the code alone.
                servers["baseline"] = Server("app:app", baseline_env, Path(tmp) / "baseline.log", cwd=checkout, options=shipped)
                prepared["baseline"] = prepare(servers["baseline"])
            servers["floor"] = Server("bench.floor:app", {**env, "FLOOR_PAGE_BYTES": str(prepared["app"]["home_bytes"])},
                                      Path(tmp) / "floor.log")
            for server in servers.values():  # warm up: imports, template compiles, first connections
                load.run(server.url + "/", options.connections, min(1.0, options.duration))
            rounds = []
            for round_number in range(1, options.rounds + 1):
                print(f"round {round_number}/{options.rounds} ...", file=sys.stderr, flush=True)
                rounds.append(one_round(load, servers, prepared, options, parameters, round_number))
                for name in prepared:
                    check_requests(servers[name], prepared[name])
        finally:
            for server in servers.values():
                server.stop()

    report = {
        "date": started,
        "machine": machine(),
        "load_generator": load.version,
        "options": {**{key: value for key, value in vars(options).items() if key != "out"},
                    "postgres_url": redacted(options.postgres_url)},
        "argon2_parameters": parameters,
        "argon2_owasp_minimum": time_argon2_verify(OWASP_MINIMUM, max(3, options.argon2_times)),
        "floor_page_bytes": prepared["app"]["home_bytes"],
        "uvicorn_options": shipped,
        "cpus": {"server": ",".join(map(str, sorted(SERVER_CPUS))), "load": ",".join(map(str, sorted(LOAD_CPUS)))},
        "baseline": options.baseline and {"rev": options.baseline, "commit": baseline_commit},
        "left_out": left_out,
        "rows": summarise(rounds, options, parameters, PAGES),
    }
    (options.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (options.out / "latest.md").write_text(markdown(report))
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
