"""The projection lag under the write load: a probe writes one consent every 0.1 s during the
PUT load and times from each answer until every read model has the answered position."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

PROBE_EVERY = 0.1
PROBE_POLL = 0.005  # often enough for a 100 ms goal, seldom enough not to load the store



class LagProbe:
    """Writes one consent every PROBE_EVERY seconds and times from its answer until every read
    model's tracking position has reached the write's position."""

    def __init__(self, url: str, token: str, subject: str, db: Any) -> None:
        self.url, self.token, self.subject, self.db = url, token, subject, db
        self.lags: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "LagProbe":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _position(self) -> int:
        row = self.db.fetchone("SELECT MIN(position) FROM projection_tracking")
        return int(row[0] or 0)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        body = {"status": "given", "notice_version": "2026-01", "method": "api"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            while not self._stop.wait(PROBE_EVERY):
                response = client.put(f"/v1/subjects/{self.subject}/consents/profiling", json=body)
                answered = time.perf_counter()
                if response.status_code != 200:
                    self.failures += 1
                    continue
                position = int(response.json()["position"])
                while self._position() < position:
                    if time.perf_counter() - answered > 30:
                        self.failures += 1
                        break
                    time.sleep(PROBE_POLL)
                else:
                    self.lags.append(time.perf_counter() - answered)
