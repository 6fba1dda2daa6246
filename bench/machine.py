"""What the figures were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def describe(pg_version: str | None) -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "unknown"
    try:
        with open("/proc/meminfo") as info:
            kb = int(info.readline().split()[1])
            memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "postgresql": pg_version or "not used",
        "system": f"{platform.system()} {platform.release()}",
    }


def postgres_version(conninfo: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])
    except psycopg.Error:
        return None
