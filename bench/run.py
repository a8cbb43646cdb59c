"""`make bench`: hxauth's pages and logins, measured against the floor (a bare Starlette page).

Starts `uvicorn app:app` (one worker, a fresh SQLite file, rate limits raised) and
`uvicorn bench.floor:app` side by side, signs a user up and logs it in over HTTP,
then drives both servers with a load generator over loopback: wrk where
installed, else bench/loadgen.py, on other CPUs than the servers' for the page
targets (with 2 CPUs or more). Every round measures every target in turn, each
page between two runs of the floor; the table shows the median of the rounds,
and each page's ratio to the floor measured around it (logins: to raw Argon2
verifies timed in-process just before and after them).
Writes bench/results/latest.{md,json}; docs/performance.md explains the figures.

    python -m bench [--rounds 3] [--duration 5] [--loadgen wrk|python] [--out DIR]
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk.lua"
NAME, EMAIL, PASSWORD = "Bench", "bench@example.com", "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
RELAXED_LIMITS = {"LOGIN_ACCOUNT_LIMIT": "1000000000", "LOGIN_CLIENT_LIMIT": "1000000000", "SIGNUP_LIMIT": "1000000000"}
OWASP_MINIMUM = {"time_cost": 2, "memory_kib": 19456, "parallelism": 1}  # OWASP Password Storage Cheat Sheet

# The targets, measured in this order in every round (the floor again after each page); `wanted` is the
# issue's target for the row.
PAGES = [
    ("floor", "floor: bare Starlette constant page", "floor", "/", None),
    ("home_anonymous", "`GET /` anonymous", "app", "/", ("rps_ratio", ">=", 0.45)),
    ("home_logged_in", "`GET /` logged in", "app", "/", ("rps_ratio", ">=", 0.30)),
    ("login_page", "`GET /accounts/login`", "app", "/accounts/login", ("rps_ratio", ">=", 0.45)),
]


def argon2_parameters() -> dict:
    """The configured Argon2 parameters (the app's defaults unless ARGON2_* are set), passed to the app as they are."""
    from hxauth.settings import Settings

    return {
        "time_cost": int(os.environ.get("ARGON2_TIME_COST", Settings.argon2_time_cost)),
        "memory_kib": int(os.environ.get("ARGON2_MEMORY_KIB", Settings.argon2_memory_kib)),
        "parallelism": int(os.environ.get("ARGON2_PARALLELISM", Settings.argon2_parallelism)),
    }


def time_argon2_verify(parameters: dict, times: int) -> dict:
    """Wall and CPU time of one verify, in this process: the cost a login cannot go below."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(parameters["time_cost"], parameters["memory_kib"], parallelism=parameters["parallelism"])
    password_hash = hasher.hash(PASSWORD)
    walls, cpus = [], []
    for _ in range(times):
        wall, cpu = time.perf_counter(), time.process_time()
        hasher.verify(password_hash, PASSWORD)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus), "samples_ms": walls, "cpus_ms": cpus}


# The page targets run with the server on one CPU and the load generator on the others: left to the
# scheduler, the two sometimes share a CPU, and since the load generator's work grows with the req/s,
# that shrinks the floor far more than the app and moved the ratios by a third from one run to the next.
ALL_CPUS = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
SERVER_CPUS = {max(ALL_CPUS)} if len(ALL_CPUS) >= 2 else ALL_CPUS
LOAD_CPUS = ALL_CPUS - SERVER_CPUS or ALL_CPUS


def set_cpus(pid: int, cpus: set) -> None:
    """Move every thread of a process to `cpus` (threads it starts later inherit them)."""
    if not cpus:
        return
    for thread in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(thread), cpus)
        except ProcessLookupError:
            pass  # the thread has ended


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`uvicorn MODULE:app` on a free loopback port: one worker, no access log (for both servers alike)."""

    def __init__(self, app: str, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(self.port),
                   "--no-access-log", "--log-level", "warning"]
        self.log = log
        with open(log, "wb") as output:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/", timeout=2)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{app} did not start:\n{log.read_text()}") from None
                time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRSS:
    """Samples a process's resident set size every 20 ms while in use; `.peak` in MB."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while True:
            self.peak = max(self.peak, rss_mb(self.pid))
            if self._stop.wait(0.02):
                return

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def settle(server: Server, window: float = 0.3, timeout: float = 120):
    """Wait until the server is idle (under 10% of a core for `window` seconds): a storm's abandoned
    logins keep hashing after the load generator has gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(server.pid)
        time.sleep(window)
        if cpu_seconds(server.pid) - before < window * 0.1:
            return
    raise RuntimeError("the server stayed busy after its load ended")


class LoadGenerator:
    def __init__(self, kind: str):
        self.kind = kind
        if kind == "wrk":
            version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
            self.version = (version.stdout + version.stderr).split("[")[0].strip() or "wrk"
        else:
            self.version = f"bench/loadgen.py (Python {platform.python_version()})"

    def start(self, url, connections, duration, method="GET", body="", headers=()) -> subprocess.Popen:
        if self.kind == "wrk":
            seconds = max(1, round(duration))
            command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "-s", str(LUA), url,
                       "--", method, body, *headers]
        else:
            command = [sys.executable, "-m", "bench.loadgen", url, "--connections", str(connections),
                       "--duration", str(duration), "--method", method, "--body", body]
            for header in headers:
                command += ["--header", header]
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        set_cpus(process.pid, LOAD_CPUS)
        return process

    @staticmethod
    def result(process: subprocess.Popen) -> dict:
        out, err = process.communicate()
        line = next((line for line in out.splitlines() if line.startswith("JSON ")), None)
        if process.returncode != 0 or line is None:
            raise RuntimeError(f"load generator failed ({process.returncode}):\n{out}\n{err}")
        raw = json.loads(line[5:])
        seconds = raw["duration_us"] / 1e6
        return {
            "requests": raw["requests"],
            "rps": raw["requests"] / seconds if seconds else 0.0,
            "p50_ms": raw["p50_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000,
            "errors": sum(raw["errors"].values()),
        }

    def run(self, *args, **kwargs) -> dict:
        return self.result(self.start(*args, **kwargs))


def form_page(client: httpx.Client, path: str) -> str:
    response = client.get(path)
    response.raise_for_status()
    return CSRF_FIELD.search(response.text).group(1)


def prepare(app: Server) -> dict:
    """Sign the bench user up and log in, over HTTP as a browser would; returns the requests to replay."""
    with httpx.Client(base_url=app.url) as client:
        token = form_page(client, "/accounts/signup")
        response = client.post("/accounts/signup", data={"csrf_token": token, "name": NAME, "email": EMAIL, "password": PASSWORD})
        assert response.status_code == 303, f"signup: {response.status_code} {response.text[:500]}"
    with httpx.Client(base_url=app.url) as client:
        token = form_page(client, "/accounts/login")
        response = client.post("/accounts/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD})
        assert response.status_code == 303, f"login: {response.status_code}"
        logged_in = f"Cookie: session={client.cookies['session']}"
    with httpx.Client(base_url=app.url) as client:  # an anonymous visitor, holding the login form
        token = form_page(client, "/accounts/login")
        login = {
            "method": "POST",
            "body": urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/"}),
            "headers": (f"Cookie: session={client.cookies['session']}", "Content-Type: application/x-www-form-urlencoded"),
        }
    return {"logged_in": logged_in, "login": login, "home_bytes": len(httpx.get(app.url + "/").content)}


def check_requests(app: Server, prepared: dict):
    """The replayed requests still do what they are meant to: a logged-in page, a successful login."""
    name, _, value = prepared["logged_in"].partition(": ")
    page = httpx.get(app.url + "/", headers={name: value})
    assert f"Hi {NAME}!" in page.text, "the logged-in cookie no longer logs in"
    login = prepared["login"]
    headers = dict(header.split(": ", 1) for header in login["headers"])
    response = httpx.post(app.url + "/accounts/login", content=login["body"], headers=headers)
    assert response.status_code == 303, f"the replayed login answers {response.status_code}"


FLOOR_FIELDS = ("rps", "p50_ms", "p99_ms", "cpu_us")


def measure_page(load: LoadGenerator, server: Server, path: str, options, headers=()) -> dict:
    """One load run on a page: req/s, latencies, peak RSS, and the server's CPU time per request."""
    settle(server, options.settle)
    cpu = cpu_seconds(server.pid)
    with PeakRSS(server.pid) as rss:
        figures = load.run(server.url + path, options.connections, options.duration, headers=headers)
    figures["rss_mb"] = rss.peak
    figures["cpu_us"] = (cpu_seconds(server.pid) - cpu) * 1e6 / max(1, figures["requests"])
    return figures


def one_round(load: LoadGenerator, servers: dict, prepared: dict, options, parameters: dict) -> dict:
    app = servers["app"]
    figures = {}
    for server in servers.values():
        set_cpus(server.pid, SERVER_CPUS)
    floors = [measure_page(load, servers["floor"], "/", options)]
    for key, _, server_name, path, _ in PAGES[1:]:
        headers = (prepared["logged_in"],) if key == "home_logged_in" else ()
        figures[key] = measure_page(load, servers[server_name], path, options, headers)
        floors.append(measure_page(load, servers["floor"], "/", options))
        # Each page against the floor measured just before and just after it: the machine's drift cancels out.
        figures[key]["floor"] = {field: (floors[-2][field] + floors[-1][field]) / 2 for field in FLOOR_FIELDS}
    figures["floor"] = {**floors[0], **{field: statistics.mean(f[field] for f in floors) for field in FLOOR_FIELDS},
                        "errors": sum(f["errors"] for f in floors)}
    for server in servers.values():  # logins hash on every CPU, as the raw Argon2 figure does
        set_cpus(server.pid, ALL_CPUS)
    login = prepared["login"]
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


def median(rounds: list[dict], key: str, field: str) -> float:
    return statistics.median(r[key][field] for r in rounds)


def summarise(rounds: list[dict], options, parameters: dict) -> list[dict]:
    """One row per measurement: medians over the rounds, ratios, and the target where the issue sets one."""
    floor = {field: median(rounds, "floor", field) for field in ("rps", "p50_ms", "p99_ms", "rss_mb")}
    argon2_ms = statistics.median(sample for r in rounds for sample in r["argon2"]["samples_ms"])
    rows = []

    def row(key, label, connections, basis, wanted=None):
        values = {field: median(rounds, key, field) for field in ("rps", "p50_ms", "p99_ms", "rss_mb")}
        if basis == "argon2" and "argon2_ms" in rounds[0][key]:  # measured between raw verifies
            ratios = {"rps_ratio": statistics.median(r[key]["rps"] * r[key]["argon2_ms"] / 1000 for r in rounds),
                      **{f"{field.split('_')[0]}_ratio": statistics.median(r[key][field] / r[key]["argon2_ms"] for r in rounds)
                         for field in ("p50_ms", "p99_ms")}}
        elif basis == "argon2":
            ratios = {"rps_ratio": values["rps"] * argon2_ms / 1000, "p50_ratio": values["p50_ms"] / argon2_ms,
                      "p99_ratio": values["p99_ms"] / argon2_ms}
        elif "floor" in rounds[0][key]:  # a page, measured between two floor runs
            ratios = {f"{field.split('_')[0]}_ratio": statistics.median(r[key][field] / r[key]["floor"][field] for r in rounds)
                      for field in ("rps", "p50_ms", "p99_ms")}
        else:
            ratios = {f"{field.split('_')[0]}_ratio": values[field] / floor[field] for field in ("rps", "p50_ms", "p99_ms")}
        ratios["rss_ratio"] = values["rss_mb"] / floor["rss_mb"]
        entry = {"key": key, "label": label, "connections": connections, **values, **ratios, "ratio_to": basis,
                 "errors": sum(r[key]["errors"] for r in rounds), "runs": [r[key] for r in rounds]}
        if wanted:
            field, op, limit = wanted
            actual = entry[field]
            entry["target"] = f"{field} {op} {limit}"
            entry["met"] = actual >= limit if op == ">=" else actual <= limit
        rows.append(entry)

    for key, label, _, _, wanted in PAGES:
        row(key, label, options.connections, "floor", wanted)
    row("login", "`POST /accounts/login`, valid credentials, 1 client", 1, "argon2", ("p50_ratio", "<=", 1.15))
    for clients in options.storm:
        row(f"storm_{clients}", f"login storm: `POST /accounts/login`, {clients} clients", clients, "argon2",
            ("rss_mb", "<=", 250))
        row(f"storm_{clients}_page", f"`GET /accounts/login` during the {clients}-client storm", options.probe_connections,
            "floor", ("p99_ms", "<=", 100) if clients == 16 else None)
    for entry in rows[: len(PAGES)]:
        key = entry["key"]
        entry["cpu_us"] = median(rounds, key, "cpu_us")
        entry["cpu_ratio"] = 1.0 if key == "floor" else statistics.median(
            r[key]["floor"]["cpu_us"] / r[key]["cpu_us"] for r in rounds)
    peaks = [r["rss_mb"] for r in rows if r["key"].startswith("storm_") and not r["key"].endswith("_page")]
    if len(peaks) > 1:
        flat = max(peaks) <= 1.2 * min(peaks)
        for r in rows:
            if r["key"].startswith("storm_") and not r["key"].endswith("_page"):
                r["target"] += "; flat (max <= 1.2 x min over the storms)"
                r["met"] = r["met"] and flat
    samples = sorted(sample for r in rounds for sample in r["argon2"]["samples_ms"])
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    label = "raw Argon2 verify, in-process (t={time_cost}, m={memory_kib} KiB, p={parallelism})".format(**parameters)
    rows.append({"key": "argon2", "label": label, "connections": 1, "rps": 1000 / argon2_ms, "p50_ms": argon2_ms,
                 "p99_ms": p99, "rss_mb": None, "rps_ratio": 1.0, "p50_ratio": 1.0, "p99_ratio": p99 / argon2_ms,
                 "rss_ratio": None, "ratio_to": "argon2", "cpu_ms": median(rounds, "argon2", "cpu_ms"), "errors": 0,
                 "runs": [r["argon2"] for r in rounds]})
    return rows


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    versions = {}
    for package in ("starlette", "uvicorn", "uvloop", "httptools", "databases", "aiosqlite", "jinja2", "argon2-cffi"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = None
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gib": round(int(memory) / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform(), "packages": versions}


def number(value, digits=0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"Run {report['date']} on {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB RAM, Python {m['python']}; "
        f"load generator: {report['load_generator']}; {report['options']['rounds']} rounds of "
        f"{report['options']['duration']} s per target (medians shown), {report['options']['connections']} connections "
        f"unless stated; one uvicorn worker ({'uvloop' if m['packages']['uvloop'] else 'asyncio'}, "
        f"{'httptools' if m['packages']['httptools'] else 'h11'}) per server"
        + (f", on CPU {report['cpus']['server']} for the page targets, the load generator on CPU {report['cpus']['load']}."
           if report["cpus"]["server"] != report["cpus"]["load"] else "."),
        "",
        "Ratios: to the floor's figure in the same run; login rows to the raw Argon2 verify time "
        "(req/s × verify time, latency ÷ verify time).",
        "",
        "| measurement | clients | req/s | p50 ms | p99 ms | peak RSS MB | req/s ratio | p50 ratio | p99 ratio | RSS ratio | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in report["rows"]:
        met = "" if "met" not in r else ("yes" if r["met"] else "**no**")
        lines.append(
            f"| {r['label']} | {r['connections']} | {number(r['rps'], 1 if r['rps'] < 100 else 0)} | {number(r['p50_ms'], 1)} | "
            f"{number(r['p99_ms'], 1)} | {number(r['rss_mb'])} | {number(r['rps_ratio'], 2)} | {number(r['p50_ratio'], 2)} | "
            f"{number(r['p99_ratio'], 2)} | {number(r['rss_ratio'], 2)} | {r.get('target', '')} | {met} |"
        )
    pages = [r for r in report["rows"] if "cpu_ratio" in r]
    lines += [
        "",
        "The servers' CPU time per request over the same runs (steadier than req/s on a shared machine; "
        "ratio: the floor's over the page's, as req/s): "
        + "; ".join(f"{r['label']} {number(r['cpu_us'])} µs ({number(r['cpu_ratio'], 2)})" for r in pages) + ".",
    ]
    owasp = report["argon2_owasp_minimum"]
    configured = next(r for r in report["rows"] if r["key"] == "argon2")
    lines += [
        "",
        f"Argon2 capacity: a verify at the configured parameters takes {configured['p50_ms']:.0f} ms and "
        f"{configured['cpu_ms']:.0f} ms of CPU, about {1000 / configured['cpu_ms']:.1f} logins/s per core; "
        f"at OWASP's minimum (t=2, m=19456 KiB, p=1) {owasp['wall_ms']:.0f} ms and {owasp['cpu_ms']:.0f} ms of CPU, "
        f"about {1000 / owasp['cpu_ms']:.0f} logins/s per core.",
    ]
    return "\n".join(lines) + "\n"


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
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    options = parser.parse_args(argv)
    options.storm = [int(n) for n in options.storm.split(",") if n]
    options.settle = min(0.3, options.duration / 3)

    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    load = LoadGenerator(options.loadgen)
    parameters = argon2_parameters()
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hxauth-bench-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "SECRET_KEY": "bench-" + "b" * 48,
            "ENV": "development",
            "DEBUG": "false",
            "ARGON2_TIME_COST": str(parameters["time_cost"]),
            "ARGON2_MEMORY_KIB": str(parameters["memory_kib"]),
            "ARGON2_PARALLELISM": str(parameters["parallelism"]),
            **RELAXED_LIMITS,
        }
        servers = {}
        try:
            servers["app"] = Server("app:app", env, Path(tmp) / "app.log")
            prepared = prepare(servers["app"])
            servers["floor"] = Server("bench.floor:app", {**env, "FLOOR_PAGE_BYTES": str(prepared["home_bytes"])},
                                      Path(tmp) / "floor.log")
            for server in servers.values():  # warm up: imports, template compiles, first connections
                load.run(server.url + "/", options.connections, min(1.0, options.duration))
            rounds = []
            for round_number in range(1, options.rounds + 1):
                print(f"round {round_number}/{options.rounds} ...", file=sys.stderr, flush=True)
                rounds.append(one_round(load, servers, prepared, options, parameters))
                check_requests(servers["app"], prepared)
        finally:
            for server in servers.values():
                server.stop()

    report = {
        "date": started,
        "machine": machine(),
        "load_generator": load.version,
        "options": {key: value for key, value in vars(options).items() if key != "out"},
        "argon2_parameters": parameters,
        "argon2_owasp_minimum": time_argon2_verify(OWASP_MINIMUM, max(3, options.argon2_times)),
        "floor_page_bytes": prepared["home_bytes"],
        "cpus": {"server": ",".join(map(str, sorted(SERVER_CPUS))), "load": ",".join(map(str, sorted(LOAD_CPUS)))},
        "rows": summarise(rounds, options, parameters),
    }
    (options.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (options.out / "latest.md").write_text(markdown(report))
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
