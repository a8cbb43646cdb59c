"""The report: medians over the rounds, ratios to the floor (and to a baseline's pages), targets, the machine, markdown."""

import os
import platform
import statistics
from pathlib import Path

RATIO_FIELDS = ("rps", "p50_ms", "p99_ms")


def median(rounds: list[dict], key: str, field: str) -> float:
    return statistics.median(r[key][field] for r in rounds)


def floor_ratios(rounds: list[dict], key: str) -> dict:
    """A page's ratios to the floor runs measured around it in its round, medians over the rounds."""
    return {f"{field.split('_')[0]}_ratio": statistics.median(r[key][field] / r[key]["floor"][field] for r in rounds)
            for field in RATIO_FIELDS}


def companion_entry(rounds: list[dict], other: str) -> dict:
    """A companion server's figures for a page (`other`: "baseline:KEY", "defaults:KEY"), against the same floor
    runs as the current page."""
    return {"rps": median(rounds, other, "rps"), "p50_ms": median(rounds, other, "p50_ms"),
            "p99_ms": median(rounds, other, "p99_ms"), "rss_mb": median(rounds, other, "rss_mb"),
            "cpu_us": median(rounds, other, "cpu_us"), **floor_ratios(rounds, other),
            "errors": sum(r[other]["errors"] for r in rounds), "runs": [r[other] for r in rounds]}


def defaults_entry(rounds: list[dict], key: str) -> dict:
    """The same app on uvicorn's defaults, and what the shipped options cost: req/s with them ÷ req/s without,
    CPU time per request without them ÷ with them (both: medians over the rounds; below 1 is a cost)."""
    other = f"defaults:{key}"
    entry = companion_entry(rounds, other)
    entry["shipped_ratio"] = statistics.median(r[key]["rps"] / r[other]["rps"] for r in rounds)
    entry["shipped_cpu_ratio"] = statistics.median(r[other]["cpu_us"] / r[key]["cpu_us"] for r in rounds)
    return entry


def baseline_entry(rounds: list[dict], key: str) -> dict:
    """The baseline commit's figures for a page, against the same floor runs as the current page, and the change."""
    other = f"baseline:{key}"
    entry = companion_entry(rounds, other)
    # Both share their floor in each round, so the change in ratio is the change in req/s of that round.
    entry["change_pct"] = statistics.median((r[key]["rps"] / r[other]["rps"] - 1) * 100 for r in rounds)
    entry["target"] = "change_pct >= -10"
    entry["met"] = entry["change_pct"] >= -10
    return entry


def summarise(rounds: list[dict], options, parameters: dict, pages: list) -> list[dict]:
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
            ratios = floor_ratios(rounds, key)
        else:
            ratios = {f"{field.split('_')[0]}_ratio": values[field] / floor[field] for field in RATIO_FIELDS}
        ratios["rss_ratio"] = values["rss_mb"] / floor["rss_mb"]
        entry = {"key": key, "label": label, "connections": connections, **values, **ratios, "ratio_to": basis,
                 "errors": sum(r[key]["errors"] for r in rounds), "runs": [r[key] for r in rounds]}
        if key == "home_logged_in_postgresql":  # the same page on PostgreSQL, against SQLite's in the same round
            entry["sqlite_ratio"] = statistics.median(r[key]["rps"] / r["home_logged_in"]["rps"] for r in rounds)
        if wanted:
            field, op, limit = wanted
            actual = entry[field]
            entry["target"] = f"{field} {op} {limit}"
            # A row with refused or failed answers measured something else than its target (e.g. a rate limit).
            entry["met"] = (actual >= limit if op == ">=" else actual <= limit) and entry["errors"] == 0
            if entry["errors"]:
                entry["target"] += f" (and no errors: {entry['errors']})"
        if f"defaults:{key}" in rounds[0]:
            entry["defaults"] = defaults_entry(rounds, key)
        if f"baseline:{key}" in rounds[0]:
            entry["baseline"] = baseline_entry(rounds, key)
        rows.append(entry)

    measured = [page for page in pages if page[0] in rounds[0]]
    for key, label, _, _, wanted in measured:
        row(key, label, options.connections, "floor", wanted)
    row("login", "`POST /accounts/login`, valid credentials, 1 client", 1, "argon2", ("p50_ratio", "<=", 1.15))
    for clients in options.storm:
        row(f"storm_{clients}", f"login storm: `POST /accounts/login`, {clients} clients", clients, "argon2",
            ("rss_mb", "<=", 250))
        row(f"storm_{clients}_page", f"`GET /accounts/login` during the {clients}-client storm", options.probe_connections,
            "floor", ("p99_ms", "<=", 100) if clients == 16 else None)
    for entry in rows[: len(measured)]:
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
    for package in ("starlette", "uvicorn", "uvloop", "httptools", "databases", "aiosqlite", "asyncpg", "jinja2",
                    "argon2-cffi"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = None
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gib": round(int(memory) / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform(), "packages": versions}


def number(value, digits=0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def met_cell(entry: dict) -> str:
    return "" if "met" not in entry else ("yes" if entry["met"] else "**no**")


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"Run {report['date']} on {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB RAM, Python {m['python']}; "
        f"load generator: {report['load_generator']}; {report['options']['rounds']} rounds of "
        f"{report['options']['duration']} s per target (medians shown), {report['options']['connections']} connections "
        f"unless stated; one uvicorn worker ({'uvloop' if m['packages']['uvloop'] else 'asyncio'}) per server, "
        f"hxauth's with the Makefile's UVICORN_OPTIONS (`{' '.join(report['uvicorn_options'])}`), the floor with "
        f"uvicorn's defaults ({'httptools' if m['packages']['httptools'] else 'h11'})"
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
        target = r.get("target", "")
        if "sqlite_ratio" in r:
            target += f" (req/s ÷ SQLite's logged-in page: {r['sqlite_ratio']:.2f})"
        lines.append(
            f"| {r['label']} | {r['connections']} | {number(r['rps'], 1 if r['rps'] < 100 else 0)} | {number(r['p50_ms'], 1)} | "
            f"{number(r['p99_ms'], 1)} | {number(r['rss_mb'])} | {number(r['rps_ratio'], 2)} | {number(r['p50_ratio'], 2)} | "
            f"{number(r['p99_ratio'], 2)} | {number(r['rss_ratio'], 2)} | {target} | {met_cell(r)} |"
        )
    pages = [r for r in report["rows"] if "cpu_ratio" in r]
    lines += [
        "",
        "The servers' CPU time per request over the same runs (steadier than req/s on a shared machine; "
        "ratio: the floor's over the page's, as req/s): "
        + "; ".join(f"{r['label']} {number(r['cpu_us'])} µs ({number(r['cpu_ratio'], 2)})" for r in pages) + ".",
    ]
    for reason in report.get("left_out", []):
        lines += ["", f"Left out: {reason}"]
    shipped = [r for r in report["rows"] if "defaults" in r]
    if shipped:
        lines += [
            "",
            "Cost of the shipped uvicorn options: the same app served with uvicorn's defaults too, each page of both "
            "measured between the same two floor runs in every round; req/s with them ÷ req/s with uvicorn's defaults "
            "(CPU: µs a request without them ÷ with them), the median over the rounds.",
            "",
            "| page | req/s | req/s, uvicorn's defaults | with ÷ without | CPU µs | CPU µs, uvicorn's defaults | CPU without ÷ with |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in shipped:
            d = r["defaults"]
            lines.append(
                f"| {r['label']} | {number(r['rps'])} | {number(d['rps'])} | {number(d['shipped_ratio'], 2)} | "
                f"{number(r['cpu_us'])} | {number(d['cpu_us'])} | {number(d['shipped_cpu_ratio'], 2)} |"
            )
    compared = [r for r in report["rows"] if "baseline" in r]
    if compared:
        lines += [
            "",
            f"Against the baseline `{report['baseline']['rev']}` ({report['baseline']['commit'][:12]}), served alongside, each page of both measured between "
            "the same two floor runs in every round (the order of the two alternating by round); change: "
            "the median over the rounds of current req/s ÷ baseline req/s − 1.",
            "",
            "| page | req/s | baseline req/s | req/s ratio | baseline req/s ratio | change | CPU µs | baseline CPU µs | target | met |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in compared:
            b = r["baseline"]
            lines.append(
                f"| {r['label']} | {number(r['rps'])} | {number(b['rps'])} | {number(r['rps_ratio'], 2)} | "
                f"{number(b['rps_ratio'], 2)} | {b['change_pct']:+.1f}% | {number(r['cpu_us'])} | {number(b['cpu_us'])} | "
                f"{b['target']} | {met_cell(b)} |"
            )
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
