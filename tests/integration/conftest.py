"""Shared pytest fixtures for the integration tests.

``start_sim`` is a factory fixture: ``sim = start_sim("--now", "2024-03-01T12:34:56Z")``
starts ``tools/binance_sim.py --port 0 <args>`` as a subprocess, waits for its
``listening on http://127.0.0.1:PORT`` line and returns a :class:`SimProcess`.  Every
simulator started this way is stopped at the end of the test (or of the fixture's scope
when used through ``start_sim_module``).

Other engineers: append your own fixtures below; keep these names stable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
SIM_PATH = REPO / "tools" / "binance_sim.py"
REALDATA = Path("/work/shared/realdata")

if str(REPO / "tools") not in sys.path:
    sys.path.insert(0, str(REPO / "tools"))


class SimProcess:
    """One running simulator and a small urllib client for its test-only endpoints."""

    def __init__(self, *args: str, timeout: float = 30.0) -> None:
        self.args = list(args)
        self._err = tempfile.TemporaryFile(mode="w+")        # stderr, never blocks the sim
        self.proc = subprocess.Popen(
            [sys.executable, str(SIM_PATH), "--port", "0", *map(str, args)],
            stdout=subprocess.PIPE, stderr=self._err, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"simulator did not start: {line!r} {self.stderr_text()}")
        self.url = line[len("listening on "):].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.timeout = timeout

    # ---- lifecycle ----------------------------------------------------------
    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def stderr_text(self) -> str:
        """What the simulator wrote on stderr so far (for failure messages)."""
        self._err.seek(0)
        return self._err.read()

    def __enter__(self) -> "SimProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- raw HTTP -----------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None, timeout: float | None = None
            ) -> tuple[int, dict[str, str], bytes]:
        """GET ``path`` -> (status, headers with lower-case names, body); never raises on 4xx/5xx."""
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            body = e.read()
            return e.code, {k.lower(): v for k, v in e.headers.items()}, body

    def agg_trades(self, micro: bool = False, **params: Any) -> tuple[int, dict[str, str], Any]:
        """``/api/v3/aggTrades`` -> (status, headers, parsed JSON)."""
        hdr = {"X-MBX-TIME-UNIT": "MICROSECOND"} if micro else {}
        st, h, body = self.get("/api/v3/aggTrades", params, hdr)
        return st, h, json.loads(body)

    def _json(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data,
                                     method="POST" if data is not None else "GET")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            return json.loads(r.read() or b"null")

    # ---- test-only endpoints -------------------------------------------------
    def control(self, cfg: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """POST /_control with ``cfg`` and/or keyword keys; returns the new settings."""
        return self._json("/_control", {**(cfg or {}), **kw})

    def reset(self) -> None:
        """No faults (random, queued, archive or REST floor), default limits, cleared counters."""
        self.control(fault_rate=0, next=[], weight_limit=6000, reset_counters=True,
                     archive_truncate={}, archive_bad_checksum=[], archive_unpublished=[],
                     rest_floor={})

    def stats(self) -> dict[str, Any]:
        return self._json("/_stats")

    def truth(self, symbol: str, start_us: int, end_us: int,
              market: str = "spot") -> list[dict[str, Any]]:
        """Every trade with start_us <= T <= end_us (T in µs) of ``market`` (spot, um, cm),
        as dicts a,p,q,f,l,T,m,M."""
        q = urllib.parse.urlencode({"symbol": symbol, "startTime": start_us, "endTime": end_us,
                                    "market": market})
        return self._json("/_truth?" + q)

    def truth_csv(self, symbol: str, start_us: int, end_us: int) -> str:
        q = {"symbol": symbol, "startTime": start_us, "endTime": end_us, "format": "csv"}
        return self.get("/_truth", q)[2].decode()


def _sim_factory() -> Iterator[Callable[..., SimProcess]]:
    """``start(*args)`` -> a running :class:`SimProcess`; all of them stopped when resumed."""
    started: list[SimProcess] = []

    def start(*args: str, **kw: Any) -> SimProcess:
        s = SimProcess(*args, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


@pytest.fixture
def start_sim() -> Iterator[Callable[..., SimProcess]]:
    """Factory: ``start_sim(*args)`` -> a running :class:`SimProcess`, stopped at teardown."""
    yield from _sim_factory()


@pytest.fixture(scope="module")
def start_sim_module() -> Iterator[Callable[..., SimProcess]]:
    """Like ``start_sim`` but the simulators live for the whole test module."""
    yield from _sim_factory()
