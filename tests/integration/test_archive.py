"""The archive source against the exchange simulator and a tiny in-test server.

``agt_archive_fetch_day`` (the daily zip + .CHECKSUM of data.binance.vision)
is called through ctypes on ``libaggtrades.so``; REST hours through the
binding's :class:`aggtrades.Client`. For whole days we prove the two sources
give the same rows, field for field (ids, µs timestamps, doubles bit for bit,
flags), and that both equal the simulator's truth export:

* a microsecond-era day (2025) and a millisecond-era day (2024), each chosen
  to hold a burst hour (>1000 trades in one microsecond) and an empty hour;
* 404 for a day that is not published yet and for an unknown symbol
  (AGT_ENOTFOUND);
* a zip whose .CHECKSUM does not match (AGT_ECHECKSUM, nothing returned),
  a malformed row (AGT_EPARSE naming the line), a wrong member name
  (AGT_ECORRUPT), the CHECKSUM with a trailing newline, transient 5xx faults
  retried (AGT_OK), served by an in-test http.server with zips built here.

Millisecond era: the archive carries milliseconds, so its timestamps equal
the REST ones truncated to the millisecond (the simulator's synthetic trades
have sub-millisecond times even before 2025; the real exchange's do not).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import http.server
import io
import os
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))
sys.path.insert(0, str(REPO / "tools"))

from aggtrades import _lib  # noqa: E402
from aggtrades.fetch import Client  # noqa: E402
import binance_sim  # noqa: E402
from conftest import SimProcess  # noqa: E402

NOW = "2025-03-02T06:00:00Z"
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
AGT_OK, AGT_EPARSE, AGT_ECORRUPT, AGT_ENOTFOUND, AGT_ECHECKSUM, AGT_EHTTP = 0, 9, 10, 13, 15, 6


# --------------------------------------------------------------------------
# ctypes for include/aggtrades/archive.h


class AgtArchiveOpts(ctypes.Structure):
    _fields_ = [
        ("archive_url", ctypes.c_char_p),
        ("interval_ms", ctypes.c_int),
        ("max_attempts", ctypes.c_int),
        ("max_ban_wait_s", ctypes.c_int),
        ("connect_timeout_ms", ctypes.c_long),
        ("timeout_ms", ctypes.c_long),
        ("backoff_base_ms", ctypes.c_int),
        ("max_zip_bytes", ctypes.c_uint64),
        ("max_csv_bytes", ctypes.c_uint64),
        ("low_speed_limit", ctypes.c_long),
        ("low_speed_time_s", ctypes.c_int),
        ("unit_deadline_s", ctypes.c_int),
        ("progress", _lib.PROGRESS_FN),
        ("progress_user", ctypes.c_void_p),
        ("market", ctypes.c_int),
        ("tmp_dir", ctypes.c_char_p),
    ]


class AgtArchiveInfo(ctypes.Structure):
    _fields_ = [
        ("day_start_us", ctypes.c_int64),
        ("rows", ctypes.c_uint64),
        ("duplicates", ctypes.c_uint64),
        ("first_id", ctypes.c_int64),
        ("last_id", ctypes.c_int64),
        ("first_ts_us", ctypes.c_int64),
        ("last_ts_us", ctypes.c_int64),
        ("contiguous", ctypes.c_int),
        ("ts_unit_us", ctypes.c_int),
        ("requests", ctypes.c_int),
        ("zip_bytes", ctypes.c_uint64),
        ("csv_bytes", ctypes.c_uint64),
        ("sha256", ctypes.c_char * 65),
    ]


def _so() -> ctypes.CDLL:
    try:
        so = _lib.lib()
    except _lib.LibraryNotFound as exc:
        pytest.skip(str(exc))
    if not hasattr(so, "agt_archive_fetch_day"):
        pytest.skip("libaggtrades.so has no archive source (rebuild it)")
    p = ctypes.POINTER
    so.agt_archive_opts_default.argtypes = [p(AgtArchiveOpts)]
    so.agt_archive_opts_default.restype = None
    so.agt_archive_new.argtypes = [p(AgtArchiveOpts), p(ctypes.c_void_p), p(_lib.AgtError)]
    so.agt_archive_new.restype = ctypes.c_int
    so.agt_archive_free.argtypes = [ctypes.c_void_p]
    so.agt_archive_free.restype = None
    so.agt_archive_fetch_day.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64,
                                         p(_lib.AgtTrades), p(AgtArchiveInfo), p(_lib.AgtError)]
    so.agt_archive_fetch_day.restype = ctypes.c_int
    return so


class Archive:
    """One agt_archive handle."""

    def __init__(self, url: str, **opts: int) -> None:
        self.so = _so()
        self._url = url.encode()
        o = AgtArchiveOpts()
        self.so.agt_archive_opts_default(ctypes.byref(o))
        o.archive_url = self._url
        o.interval_ms = 1
        o.backoff_base_ms = 10
        for k, v in opts.items():
            setattr(o, k, v)
        self.h = ctypes.c_void_p()
        err = _lib.AgtError()
        st = self.so.agt_archive_new(ctypes.byref(o), ctypes.byref(self.h), ctypes.byref(err))
        assert st == AGT_OK, err.message

    def close(self) -> None:
        if self.h:
            self.so.agt_archive_free(self.h)
            self.h = ctypes.c_void_p()

    def day(self, symbol: str, day_us: int) -> tuple[int, dict[str, np.ndarray], AgtArchiveInfo, _lib.AgtError]:
        t = _lib.AgtTrades()
        self.so.agt_trades_init(ctypes.byref(t))
        info = AgtArchiveInfo()
        err = _lib.AgtError()
        st = self.so.agt_archive_fetch_day(self.h, symbol.encode(), day_us, ctypes.byref(t),
                                           ctypes.byref(info), ctypes.byref(err))
        n = t.len
        cols = {
            "trade_id": np.ctypeslib.as_array(t.trade_id, (n,)).copy() if n else np.zeros(0, np.int64),
            "ts_us": np.ctypeslib.as_array(t.ts_us, (n,)).copy() if n else np.zeros(0, np.int64),
            "price": np.ctypeslib.as_array(t.price, (n,)).copy() if n else np.zeros(0),
            "quantity": np.ctypeslib.as_array(t.quantity, (n,)).copy() if n else np.zeros(0),
            "is_buyer_maker": (np.ctypeslib.as_array(t.is_buyer_maker, (n,)).astype(bool)
                               if n else np.zeros(0, bool)),
        }
        self.so.agt_trades_release(ctypes.byref(t))
        return st, cols, info, err


# --------------------------------------------------------------------------
# the simulator


class Sim(SimProcess):
    """One simulator process (``--port 0``) and its truth export as columns."""

    def __init__(self, *args: str) -> None:
        super().__init__(*args, timeout=60.0)

    def fetch(self, path: str) -> bytes:
        """GET ``path``; its body (a 200 expected)."""
        status, _, body = self.get(path)
        assert status == 200, (path, status)
        return body

    def truth_columns(self, symbol: str, start: int, end: int) -> dict[str, np.ndarray]:
        """The simulator's trades with start <= T <= end, as columns."""
        text = self.truth_csv(symbol, start, end)
        rows: dict[int, list[str]] = {}
        for line in text.splitlines():
            if line:
                f = line.split(",")
                rows[int(f[0])] = f  # the newest copy of an id wins
        ids = sorted(rows)
        return {
            "trade_id": np.array(ids, dtype=np.int64),
            "ts_us": np.array([int(rows[a][5]) for a in ids], dtype=np.int64),
            "price": np.array([float(rows[a][1]) for a in ids]),
            "quantity": np.array([float(rows[a][2]) for a in ids]),
            "is_buyer_maker": np.array([rows[a][6] == "True" for a in ids], dtype=bool),
        }


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    s = Sim("--now", NOW)
    yield s
    s.close()


def day_us(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc).timestamp()) * 1_000_000


def interesting_day(first: dt.date) -> dt.date:
    """The first day from `first` on with both a burst hour and an empty hour."""
    m = binance_sim.Market(seed=1, scale=1.0)
    for k in range(60):
        d = first + dt.timedelta(days=k)
        s = day_us(d)
        if m.burst_hours("BTCUSDT", s, s + DAY_US - 1) and m.empty_hours("BTCUSDT", s, s + DAY_US - 1):
            return d
    return first


def rest_day(url: str, symbol: str, d: dt.date) -> dict[str, np.ndarray]:
    """The day through the binding, hour by hour, as REST gives it."""
    parts = []
    with Client(url, interval_ms=1, backoff_base_ms=10) as c:
        for h in range(24):
            frame, info = c.fetch_hour(symbol, d, h)
            assert info["complete"], (d, h)
            parts.append(frame)
    ids = np.concatenate([p["trade_id"].to_numpy(np.int64) for p in parts])
    ts = np.concatenate([p["timestamp"].array.asi8 // 1000 for p in parts])  # ns -> µs
    px = np.concatenate([p["price"].to_numpy(np.float64) for p in parts])
    qty = np.concatenate([p["quantity"].to_numpy(np.float64) for p in parts])
    m = np.concatenate([p["is_buyer_maker"].to_numpy(bool) for p in parts])
    order = np.argsort(ids, kind="stable")
    return {"trade_id": ids[order], "ts_us": ts[order], "price": px[order], "quantity": qty[order],
            "is_buyer_maker": m[order]}


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray], what: str) -> None:
    assert len(a["trade_id"]) == len(b["trade_id"]), what
    for k in ("trade_id", "ts_us", "is_buyer_maker"):
        assert np.array_equal(a[k], b[k]), f"{what}: column {k} differs"
    for k in ("price", "quantity"):  # bit for bit
        assert np.array_equal(a[k].view(np.uint64), b[k].view(np.uint64)), f"{what}: column {k} differs"


# --------------------------------------------------------------------------
# archive == REST == truth


@pytest.mark.parametrize("first,micro", [(dt.date(2025, 2, 1), True), (dt.date(2024, 2, 1), False)])
def test_archive_day_equals_rest_and_truth(sim: Sim, first: dt.date, micro: bool) -> None:
    d = interesting_day(first)
    start = day_us(d)
    a = Archive(sim.url)
    try:
        st, arc, info, err = a.day("BTCUSDT", start)
    finally:
        a.close()
    assert st == AGT_OK, err.message.decode()
    n = len(arc["trade_id"])
    assert n > 10_000 and info.rows == n
    assert info.ts_unit_us == (1 if micro else 1000)
    assert info.contiguous == 1 and info.duplicates == 0
    assert info.first_id == arc["trade_id"][0] and info.last_id == arc["trade_id"][-1]
    assert np.all(np.diff(arc["trade_id"]) == 1)
    assert np.all((arc["ts_us"] >= start) & (arc["ts_us"] < start + DAY_US))
    zip_bytes = sim.fetch(f"/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-{d}.zip")
    assert info.sha256.decode() == hashlib.sha256(zip_bytes).hexdigest()
    assert info.requests == 2

    rest = rest_day(sim.url, "BTCUSDT", d)
    truth = sim.truth_columns("BTCUSDT", start, start + DAY_US - 1)
    if not micro:  # the archive carries milliseconds before 2025
        for src in (rest, truth):
            src["ts_us"] = src["ts_us"] // 1000 * 1000
    assert_same(arc, rest, f"archive vs rest {d}")
    assert_same(arc, truth, f"archive vs truth {d}")


def test_unpublished_day_and_unknown_symbol_are_not_found(sim: Sim) -> None:
    a = Archive(sim.url)
    try:
        today = day_us(dt.date(2025, 3, 2))  # "now" is 06:00 that day
        st, cols, info, err = a.day("BTCUSDT", today)
        assert st == AGT_ENOTFOUND
        assert "not published" in err.message.decode() and err.http_status == 404
        assert len(cols["trade_id"]) == 0
        st, _, _, err = a.day("NOSUCHPAIR", day_us(dt.date(2024, 6, 1)))
        assert st == AGT_ENOTFOUND
        # yesterday is published
        st, cols, _, err = a.day("BTCUSDT", today - DAY_US)
        assert st == AGT_OK, err.message.decode()
    finally:
        a.close()


def test_transient_faults_are_retried(sim: Sim) -> None:
    sim.control(next=["500json", "reset", "truncate"], fault_paths=["/data/"])
    a = Archive(sim.url)
    try:
        st, cols, info, err = a.day("BTCUSDT", day_us(dt.date(2025, 1, 7)))
    finally:
        a.close()
        sim.control(next=[], fault_paths=["/api/v3/aggTrades", "/data/"])
    assert st == AGT_OK, err.message.decode()
    assert info.requests == 5
    assert len(cols["trade_id"]) > 0


# --------------------------------------------------------------------------
# a tiny server for what the simulator does not fake


class Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        body = body if body is not None else b"<Error><Code>NoSuchKey</Code></Error>"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def files() -> Iterator[tuple[str, dict[str, bytes]]]:
    Files.files = {}
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", Files.files
    srv.shutdown()
    srv.server_close()


def make_zip(member: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(member, text)
    return buf.getvalue()


ROWS_2024 = ("3,63118.62000000,0.00070000,12,12,1714348800002,True,True\n"
             "1,63118.61000000,0.00100000,10,10,1714348800000,False,True\n"
             "2,63118.60000000,0.00200000,11,11,1714348800001,True,True\n")
DAY_2024_04_29 = day_us(dt.date(2024, 4, 29))
PREFIX = "/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-04-29"


def publish(files: dict[str, bytes], zip_bytes: bytes, checksum: str | None = None, newline: bool = False) -> None:
    digest = checksum or hashlib.sha256(zip_bytes).hexdigest()
    files[PREFIX + ".zip"] = zip_bytes
    files[PREFIX + ".zip.CHECKSUM"] = (f"{digest}  BTCUSDT-aggTrades-2024-04-29.zip"
                                       + ("\n" if newline else "")).encode()


def test_unordered_rows_and_checksum_newline(files: tuple[str, dict[str, bytes]]) -> None:
    url, fs = files
    publish(fs, make_zip("BTCUSDT-aggTrades-2024-04-29.csv", ROWS_2024), newline=True)
    a = Archive(url)
    try:
        st, cols, info, err = a.day("BTCUSDT", DAY_2024_04_29)
    finally:
        a.close()
    assert st == AGT_OK, err.message.decode()
    assert cols["trade_id"].tolist() == [1, 2, 3]
    assert cols["ts_us"].tolist() == [1714348800000000, 1714348800001000, 1714348800002000]
    assert cols["price"][0] == float("63118.61000000")
    assert cols["is_buyer_maker"].tolist() == [False, True, True]


def test_checksum_mismatch_returns_nothing(files: tuple[str, dict[str, bytes]]) -> None:
    url, fs = files
    z = make_zip("BTCUSDT-aggTrades-2024-04-29.csv", ROWS_2024)
    publish(fs, z, checksum=hashlib.sha256(z + b"x").hexdigest())
    a = Archive(url)
    try:
        st, cols, info, err = a.day("BTCUSDT", DAY_2024_04_29)
    finally:
        a.close()
    assert st == AGT_ECHECKSUM
    assert hashlib.sha256(z).hexdigest() in err.message.decode()
    assert len(cols["trade_id"]) == 0


def test_malformed_row_names_the_line(files: tuple[str, dict[str, bytes]]) -> None:
    url, fs = files
    bad = ROWS_2024 + "2990172343,63008.69000000,0.00018000,3578270992,3578270992,17144\n"
    publish(fs, make_zip("BTCUSDT-aggTrades-2024-04-29.csv", bad))
    a = Archive(url)
    try:
        st, cols, _, err = a.day("BTCUSDT", DAY_2024_04_29)
        assert st == AGT_EPARSE
        assert "line 4: expected 8 fields (a spot file), found 6" in err.message.decode()
        assert len(cols["trade_id"]) == 0
        publish(fs, make_zip("BTCUSDT-aggTrades-2024-04-30.csv", ROWS_2024))
        st, _, _, err = a.day("BTCUSDT", DAY_2024_04_29)
        assert st == AGT_ECORRUPT, err.message.decode()
        fs.clear()
        st, _, _, err = a.day("BTCUSDT", DAY_2024_04_29)
        assert st == AGT_ENOTFOUND
    finally:
        a.close()


# --------------------------------------------------------------------------
# genuine rows: the simulator's replay of /work/shared/realdata

REALDATA = Path(os.environ.get("AGT_REALDATA", "/work/shared/realdata"))


def test_genuine_2026_01_01_archive_equals_file_and_rest() -> None:
    csv_path = REALDATA / "BTCUSDT-aggTrades-2026-01-01.csv"
    if not csv_path.is_file():
        pytest.skip("realdata not available")
    s = Sim("--replay", str(REALDATA), "--now", "2026-01-02T01:00:00Z")
    try:
        a = Archive(s.url)
        try:
            st, arc, info, err = a.day("BTCUSDT", day_us(dt.date(2026, 1, 1)))
        finally:
            a.close()
        assert st == AGT_OK, err.message.decode()
        lines = csv_path.read_text().splitlines()
        assert len(arc["trade_id"]) == len(lines) == 5000
        assert arc["trade_id"][0] == 3800397495 and arc["trade_id"][-1] == 3800402494
        assert info.ts_unit_us == 1 and info.contiguous == 1
        for i, line in enumerate(lines):
            f = line.split(",")
            assert arc["trade_id"][i] == int(f[0]) and arc["ts_us"][i] == int(f[5])
            assert arc["price"][i] == float(f[1]) and arc["quantity"][i] == float(f[2])
            assert arc["is_buyer_maker"][i] == (f[6] == "True")
        # REST hour 00 of that day holds exactly these rows (they span ~12 minutes)
        with Client(s.url, interval_ms=1, backoff_base_ms=10) as c:
            frame, _ = c.fetch_hour("BTCUSDT", dt.date(2026, 1, 1), 0)
        assert frame["trade_id"].to_numpy(np.int64).tolist() == arc["trade_id"].tolist()
        assert (frame["timestamp"].array.asi8 // 1000).tolist() == arc["ts_us"].tolist()
        assert np.array_equal(frame["price"].to_numpy(np.float64).view(np.uint64), arc["price"].view(np.uint64))
        assert np.array_equal(frame["quantity"].to_numpy(np.float64).view(np.uint64),
                              arc["quantity"].view(np.uint64))
        assert frame["is_buyer_maker"].to_numpy(bool).tolist() == arc["is_buyer_maker"].tolist()
    finally:
        s.close()
