"""Time `hxauth cleanup` on a throw-away SQLite database holding N expired sessions (default 1,000,000).

    .venv/bin/python bench/cleanup.py [N]
"""

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cleanup.db"
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench-" + "b" * 40}
        subprocess.run([BIN / "hxauth", "migrate"], env=env, check=True, capture_output=True)
        with sqlite3.connect(path) as db:
            db.execute("INSERT INTO users (id, name, email, password_hash, created_at) VALUES (1, 'A', 'a@example.com', 'x', 0)")
            db.executemany(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?, 1, ?, ?)",
                ((f"{n:064x}", n % 1000, n % 1000) for n in range(rows)),
            )
        started = time.perf_counter()
        result = subprocess.run([BIN / "hxauth", "cleanup"], env=env, check=True, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        print(f"{result.stdout.strip()} in {elapsed:.1f} s (the whole command, start-up included)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
