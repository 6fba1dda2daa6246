"""The HTTP load through `wrk` (Debian's package), when it is installed: a C load generator uses
a fraction of the CPU the Python one needs, which on a 2-core machine is CPU the server keeps.
A Lua script picks a random subject and purpose per request; a short first run warms up."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from urllib.parse import urlencode
from pathlib import Path
from typing import Any

from bench.load import CHECK, GIVEN, PURPOSES, WITHDRAWN

SCRIPT = """
local subjects = {%(subjects)s}
local purposes = {%(purposes)s}
local mode = "%(mode)s"
local headers = {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json"}
local given = '%(given)s'
local withdrawn = '%(withdrawn)s'
local counter = 0
setup = function(thread) thread:set("seed", counter); counter = counter + 1 end
init = function(args) math.randomseed(7 + (seed or 0)) end
request = function()
  local path = "/v1/subjects/" .. subjects[math.random(#subjects)] .. "/consents/"
    .. purposes[math.random(#purposes)]
  if mode == "put" then
    local body = withdrawn
    if math.random() < 0.8 then body = given end
    return wrk.format("PUT", path, headers, body)
  end
  return wrk.format("GET", path .. "?%(check)s", headers)
end
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %%d, "bad": %%d, "errors": %%d, "duration_us": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d, "p999_us": %%d}\\n', summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, token: str, mode: str, subjects: list[str], clients: int, seconds: float,
        warmup: float) -> dict[str, Any]:
    script = SCRIPT % {
        "subjects": ", ".join(f'"{s}"' for s in subjects),
        "purposes": ", ".join(f'"{p}"' for p in PURPOSES),
        "mode": mode, "token": token,
        "given": json.dumps(GIVEN), "withdrawn": json.dumps(WITHDRAWN),
        "check": urlencode(CHECK),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "load.lua"
        path.write_text(script)
        if warmup > 0:
            _wrk(url, path, clients, warmup)
        answer = _wrk(url, path, clients, seconds)
    elapsed = answer["duration_us"] / 1e6
    ok = answer["requests"] - answer["bad"]
    return {
        "requests": answer["requests"], "ok": ok, "errors": answer["errors"],
        "statuses": {"non-2xx": answer["bad"]} if answer["bad"] else {},
        "rate": ok / elapsed, "p99": answer["p99_us"] / 1e6, "p999": answer["p999_us"] / 1e6,
        "tool": "wrk",
    }


def _wrk(url: str, script: Path, clients: int, seconds: float) -> dict[str, Any]:
    done = subprocess.run(
        ["wrk", "-t", "1", "-c", str(clients), "-d", f"{max(1, round(seconds))}s",
         "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return json.loads(lines[-1])
