"""Build and keep a lake: the library's engine (``include/aggtrades/sync.h``).

The same calls as the ``aggtrades`` tool's ``download``, ``update`` and
``retry``: the library plans the units, skips what the lake proves complete,
fetches, commits hour by hour and records the units that still fail in
``<root>/.retry``::

    import aggtrades
    report = aggtrades.download("./data", ["BTCUSDT", "ethusdt"], "2024-03-01", "2024-03-02")
    print(report.units_done, report.units_failed, report.trades)

Each call returns a :class:`SyncReport`. Bad input (a symbol, a range, an
unknown symbol, nothing stored to update) raises :class:`~aggtrades.LakeError`
or :class:`~aggtrades.FetchError` before anything is written; units that fail
after their retries do not raise: they are counted in ``units_failed`` and
listed in ``<root>/.retry`` (run :func:`retry` later).

``progress`` is called with a :class:`SyncEvent` for every event of the run
(the tool draws its display from the same events); returning a true value
stops the run after the request in flight (committed hours are kept, and the
report says ``interrupted``). An exception raised by ``progress`` stops the
run too, and is raised again once the run has ended. Without ``progress``, a
``tqdm`` bar is shown when tqdm is installed and the run is in a terminal or a
Jupyter kernel.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import _lib
from .fetch import MARKETS, FetchError
from .lake import LakeError, _to_us

__all__ = ["SyncEvent", "SyncReport", "download", "retry", "update"]

_US_PER_DAY = 86_400_000_000

# enum agt_sync_event_kind, by value
_EVENT_KINDS = {1: "start", 2: "symbol", 3: "planned", 4: "symbol_begin", 5: "hour_begin",
                6: "received", 7: "hour_done", 8: "day_done", 9: "symbol_end", 10: "lake_bytes",
                11: "log", 12: "warning", 13: "finish", 14: "checked"}
_SOURCES = {"auto": 0, "rest": 1, "archive": 2}
_PAGING = {"time": 0, "id": 1}
# statuses that say the exchange (not the lake or the input) failed
_EXCHANGE_STATUSES = {"AGT_ENET", "AGT_EHTTP", "AGT_EAPI", "AGT_EBANNED", "AGT_EPARSE", "AGT_ECHECKSUM"}


@dataclass(frozen=True)
class SyncEvent:
    """One event of a run (``struct agt_sync_event``); see ``aggtrades/sync.h``."""

    kind: str  # "start", "symbol", "planned", "hour_begin", "received", "hour_done", ...
    verb: str
    index: int
    nsyms: int
    symbol: str | None
    hour_us: int
    day_us: int
    ok: bool
    units: int
    bytes: int
    trades: int
    rows: int
    inserted: int
    updated: int
    days_total: int
    days_skipped: int
    failed_hours: int
    interrupted: bool
    message: str | None


@dataclass(frozen=True)
class SyncReport:
    """What a run did (``struct agt_sync_report``)."""

    status: str          # "AGT_OK", "AGT_EINCOMPLETE" (units failed), "AGT_ECANCELLED" (stopped)
    message: str         # the library's one line ("" when all is done)
    symbols: int
    units_total: int     # symbol-hours planned
    units_done: int      # committed
    units_failed: int    # recorded in <root>/.retry
    days_total: int
    days_skipped: int    # already complete: no request made
    trades: int          # rows of the hours committed
    bytes: int           # response bytes received
    inserted: int
    updated: int
    interrupted: bool


def _event(ev: _lib.AgtSyncEvent) -> SyncEvent:
    def text(b: bytes | None) -> str | None:
        return None if b is None else b.decode("utf-8", "replace")

    return SyncEvent(
        kind=_EVENT_KINDS.get(ev.kind, str(ev.kind)), verb=text(ev.verb) or "", index=ev.index,
        nsyms=ev.nsyms, symbol=text(ev.symbol), hour_us=ev.hour_us, day_us=ev.day_us, ok=bool(ev.ok),
        units=ev.units, bytes=ev.bytes, trades=ev.trades, rows=ev.rows, inserted=ev.inserted,
        updated=ev.updated, days_total=ev.days_total, days_skipped=ev.days_skipped,
        failed_hours=ev.failed_hours, interrupted=bool(ev.interrupted), message=text(ev.message),
    )


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _TqdmProgress:
    """A tqdm bar over the run's hours (when tqdm is installed)."""

    def __init__(self, tqdm: Any) -> None:
        self._tqdm = tqdm
        self._bar: Any = None

    def __call__(self, ev: SyncEvent) -> None:
        if ev.kind == "planned":
            self._bar = self._tqdm(total=ev.units, unit="h", desc=ev.verb)
        elif self._bar is not None and ev.kind == "hour_done":
            self._bar.update(1)
        elif self._bar is not None and ev.kind in ("log", "warning") and ev.message:
            self._bar.write(ev.message, file=sys.stderr)
        elif self._bar is not None and ev.kind == "finish":
            self._bar.close()
            self._bar = None


def _default_progress() -> Callable[[SyncEvent], Any] | None:
    if not _interactive():
        return None
    try:
        if "ipykernel" in sys.modules:
            from tqdm.notebook import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        return None
    return _TqdmProgress(tqdm)


class _Session:
    """An ``agt_sync`` handle with its options and the Python side of its events."""

    def __init__(self, root: str | os.PathLike[str], *, source: str = "auto", api_url: str | None = None,
                 archive_url: str | None = None, interval_ms: int = 50, paging: str = "time",
                 progress: Callable[[SyncEvent], Any] | None = None, market: str = "spot",
                 monthly: bool = True, jobs: int | None = None) -> None:
        if source not in _SOURCES:
            raise LakeError("AGT_EINVAL", f"invalid source {source!r} (expected auto, rest or archive)")
        if paging not in _PAGING:
            raise LakeError("AGT_EINVAL", f"invalid paging {paging!r} (expected time or id)")
        if market not in MARKETS:
            raise LakeError("AGT_EINVAL", f"invalid market {market!r} (expected spot, um or cm)")
        if isinstance(interval_ms, bool) or not isinstance(interval_ms, int) or interval_ms < 0:
            raise LakeError("AGT_EINVAL", f"invalid interval_ms {interval_ms!r} (an int, 0 or more)")
        if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
            raise LakeError("AGT_EINVAL", f"invalid jobs {jobs!r} (an int, 1 or more, or None: one per CPU)")
        self._so = _lib.lib()
        self._progress = progress if progress is not None else _default_progress()
        self._raised: BaseException | None = None
        self._cb = _lib.SYNC_EVENT_FN(self._on_event)  # kept alive as long as the session
        self._strings = [os.fsencode(root)] + [u.encode() for u in (api_url, archive_url) if u]
        o = _lib.AgtSyncOpts()
        self._so.agt_sync_opts_default(ctypes.byref(o))
        o.api_url = api_url.encode() if api_url else None
        o.archive_url = archive_url.encode() if archive_url else None
        o.interval_ms = interval_ms
        o.source = _SOURCES[source]
        o.paging = _PAGING[paging]
        o.market = MARKETS[market][0]
        o.archive_months = 1 if monthly else 0
        o.jobs = 0 if jobs is None else jobs
        o.on_event = self._cb
        self._opts = o
        self._handle = ctypes.c_void_p()
        err = _lib.AgtError()
        st = self._so.agt_sync_open(os.fsencode(root), ctypes.byref(o), ctypes.byref(self._handle),
                                    ctypes.byref(err))
        if st != _lib.AGT_OK:
            raise _error(st, err, None)

    def _on_event(self, _user: Any, ev: Any) -> int:
        if self._raised is not None:
            return 1
        if self._progress is None:
            return 0
        try:
            return 1 if self._progress(_event(ev.contents)) else 0
        except BaseException as e:  # noqa: BLE001 - raised again after the run (Ctrl-C too)
            self._raised = e
            return 1

    def close(self) -> None:
        if self._handle:
            self._so.agt_sync_close(self._handle)
            self._handle = ctypes.c_void_p()

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def call(self, fn: Any, *args: Any) -> int:
        """``fn(handle, *args)``; an exception raised by ``progress`` meanwhile is raised again."""
        st: int = fn(self._handle, *args)
        if self._raised is not None:
            raised, self._raised = self._raised, None
            raise raised
        return st

    def run(self, fn: Any, *args: Any) -> SyncReport:
        rep = _lib.AgtSyncReport()
        err = _lib.AgtError()
        st = self.call(fn, *args, ctypes.byref(rep), ctypes.byref(err))
        if not _ran(st, rep):
            raise _error(st, err, rep)
        return _report(st, err, rep)


def _ran(st: int, rep: _lib.AgtSyncReport) -> bool:
    """The run went through (units may have failed, or the callback stopped it)."""
    name = _status_name(st)
    return name in ("AGT_OK", "AGT_EINCOMPLETE") or (name == "AGT_ECANCELLED" and bool(rep.interrupted))


def _report(st: int, err: _lib.AgtError, rep: _lib.AgtSyncReport) -> SyncReport:
    return SyncReport(
        status=_status_name(st), message=err.message.decode("utf-8", "replace") if st else "",
        symbols=rep.symbols, units_total=rep.units_total, units_done=rep.units_done,
        units_failed=rep.units_failed, days_total=rep.days_total, days_skipped=rep.days_skipped,
        trades=rep.trades, bytes=rep.bytes, inserted=rep.inserted, updated=rep.updated,
        interrupted=bool(rep.interrupted),
    )


def _status_name(st: int) -> str:
    names = _lib.AGT_STATUS_NAMES
    return names[st] if 0 <= st < len(names) else f"AGT_E{st}"


def _error(st: int, err: _lib.AgtError, rep: _lib.AgtSyncReport | None) -> Exception:
    """FetchError when the exchange failed or refused (an unknown symbol), else LakeError."""
    name = _status_name(st)
    if name in _EXCHANGE_STATUSES or err.api_code or (rep is not None and rep.unreachable):
        return FetchError._from_c(st, err)
    return LakeError(name, err.message.decode("utf-8", "replace"))


def _symbols(symbols: str | Iterable[str]) -> ctypes.Array[ctypes.c_char_p]:
    """Symbols in any case, checked by the library (LakeError for a bad one)."""
    names = [symbols] if isinstance(symbols, str) else list(symbols)
    if not names:
        raise LakeError("AGT_EINVAL", "no symbol given")
    so = _lib.lib()
    out = []
    for s in names:
        if not isinstance(s, str):
            raise LakeError("AGT_EINVAL", f"invalid symbol {s!r} (a str)")
        buf = (ctypes.c_char * 24)()
        err = _lib.AgtError()
        st = so.agt_symbol_normalize(s.encode("utf-8", "replace"), buf, ctypes.byref(err))
        if st != _lib.AGT_OK:
            raise LakeError(_status_name(st), err.message.decode("utf-8", "replace"))
        out.append(buf.value)
    return (ctypes.c_char_p * len(out))(*out)


def download(root: str | os.PathLike[str], symbols: str | Iterable[str], start: Any, end: Any, *,
             source: str = "auto", api_url: str | None = None, archive_url: str | None = None,
             interval_ms: int = 50, paging: str = "time",
             progress: Callable[[SyncEvent], Any] | None = None, market: str = "spot",
             monthly: bool = True, jobs: int | None = None) -> SyncReport:
    """Fetch whole UTC days ``start`` .. ``end`` (dates, inclusive) of ``symbols`` into the lake.

    As ``aggtrades download``: days the lake proves complete are skipped
    without a request, whole old days come from the daily archive proved with
    REST under ``source="auto"``, everything else hour by hour with REST.
    ``market``: ``"spot"`` (default), ``"um"`` or ``"cm"`` (futures, kept in
    ``<root>/_futures/um`` and ``cm``). ``monthly``: a month needed whole comes
    from the archive's monthly file (False: the daily files only). ``jobs``:
    units (archive days or months, REST hours) fetched at once on threads of
    their own, sharing one REST weight budget (None: one per CPU, at most 8;
    1: one after another); they are committed in order, and ``progress`` is
    always called on the calling thread.
    """
    syms = _symbols(symbols)
    start_us, end_us = _to_us(start, False), _to_us(end, True)
    with _Session(root, source=source, api_url=api_url, archive_url=archive_url,
                  interval_ms=interval_ms, paging=paging, progress=progress, market=market,
                  monthly=monthly, jobs=jobs) as s:
        return s.run(s._so.agt_sync_download, syms, len(syms), start_us, end_us)


def update(root: str | os.PathLike[str], symbols: str | Iterable[str], *, force: bool = False,
           source: str = "auto", api_url: str | None = None, archive_url: str | None = None,
           interval_ms: int = 50, paging: str = "time",
           progress: Callable[[SyncEvent], Any] | None = None, market: str = "spot",
           jobs: int | None = None) -> SyncReport:
    """Bring stored ``symbols`` up to the exchange's now, as ``aggtrades update [--force]``
    (``jobs`` as for :func:`download`)."""
    syms = _symbols(symbols)
    with _Session(root, source=source, api_url=api_url, archive_url=archive_url,
                  interval_ms=interval_ms, paging=paging, progress=progress, market=market,
                  jobs=jobs) as s:
        return s.run(s._so.agt_sync_update, syms, len(syms), 1 if force else 0)


def retry(root: str | os.PathLike[str], *, api_url: str | None = None, interval_ms: int = 50,
          paging: str = "time", progress: Callable[[SyncEvent], Any] | None = None,
          market: str = "spot", jobs: int | None = None) -> SyncReport:
    """Run again every unit of ``market``'s ``.retry`` (``<root>/.retry`` for spot,
    ``<root>/_futures/um/.retry`` for USD-M ...), as ``aggtrades --market M retry``
    (``jobs`` as for :func:`download`). One market a call, one report; the tool's
    ``retry`` without ``--market`` runs every market that has a ledger."""
    with _Session(root, source="rest", api_url=api_url, interval_ms=interval_ms, paging=paging,
                  progress=progress, market=market, jobs=jobs) as s:
        return s.run(s._so.agt_sync_retry)
