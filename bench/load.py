"""The load: wrk or bench/loadgen.py driving a server, and raw Argon2 verifies timed in-process for the logins."""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

from bench.servers import LOAD_CPUS, ROOT, set_cpus

LUA = ROOT / "bench" / "wrk.lua"
OWASP_MINIMUM = {"time_cost": 2, "memory_kib": 19456, "parallelism": 1}  # OWASP Password Storage Cheat Sheet


class LoadGenerator:
    """One closed-loop load run at a time, wrk's or bench/loadgen.py's, on the load CPUs; the same JSON line from both."""

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


def argon2_parameters() -> dict:
    """The configured Argon2 parameters (the app's defaults unless ARGON2_* are set), passed to the app as they are."""
    from hxauth.settings import Settings

    return {
        "time_cost": int(os.environ.get("ARGON2_TIME_COST", Settings.argon2_time_cost)),
        "memory_kib": int(os.environ.get("ARGON2_MEMORY_KIB", Settings.argon2_memory_kib)),
        "parallelism": int(os.environ.get("ARGON2_PARALLELISM", Settings.argon2_parallelism)),
    }


def time_argon2_verify(parameters: dict, times: int, password: str = "correct horse battery staple") -> dict:
    """Wall and CPU time of one verify, in this process: the cost a login cannot go below."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(parameters["time_cost"], parameters["memory_kib"], parallelism=parameters["parallelism"])
    password_hash = hasher.hash(password)
    walls, cpus = [], []
    for _ in range(times):
        wall, cpu = time.perf_counter(), time.process_time()
        hasher.verify(password_hash, password)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus), "samples_ms": walls, "cpus_ms": cpus}
