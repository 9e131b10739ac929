"""Check the stored hours of a symbol, and repair them: ``aggtrades verify [--repair]``.

The library's call (``agt_sync_verify``, ``include/aggtrades/verify.h``), the
one the tool runs::

    import aggtrades
    report = aggtrades.verify("./data", "BTCUSDT")
    for p in report.problems:
        print(p.kind, p.hour, p.path, p.detail)
    if not report.ok:
        report = aggtrades.verify("./data", "BTCUSDT", repair=True)

Without ``repair`` the lake is only read (no lock, no request). With it, under
one writer lock: damaged statistics are rebuilt from the data files, files no
commit owns are cleared, damaged hour files are set aside, every hour with a
problem is fetched again (failures go to ``<root>/.retry``), and the hours
are checked once more. Bad input (a symbol, a time, a reversed range, nothing
stored for the symbol) raises :class:`~aggtrades.LakeError` before anything is
written; the exchange out of reach during a repair raises
:class:`~aggtrades.FetchError`. Problems found are not an error: they are in
the report.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import _lib
from .lake import LakeError, _to_us
from .sync import SyncEvent, SyncReport, _error, _ran, _report, _Session, _status_name, _symbols

__all__ = ["Problem", "VerifyReport", "verify"]

_STAGE_INDEX, _STAGE_HOURS, _STAGE_AFTER = 1, 2, 3


def _time(us: int) -> _dt.datetime:
    return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(microseconds=us)


@dataclass(frozen=True)
class Problem:
    """One problem (``struct agt_verify_problem``), as ``aggtrades verify`` prints it."""

    kind: str                   # "missing", "damaged", "id gap", "incomplete", "stats", "stray", "wal", "other"
    hour: _dt.datetime | None   # the hour's start (UTC); None when not about one hour
    path: str                   # the file concerned, relative to the lake's root; "" if none
    detail: str                 # what is wrong, one line


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found and did (``struct agt_verify_report``)."""

    status: str          # "AGT_OK", "AGT_EINCOMPLETE" (problems remain), "AGT_ECANCELLED" (stopped)
    message: str         # the library's one line ("" when all is well)
    symbol: str
    start: _dt.datetime | None   # the range checked (None if the statistics stopped the check)
    end: _dt.datetime | None
    hours_checked: int
    problems: tuple[Problem, ...]          # what is wrong now (after a repair: what it left)
    found: tuple[Problem, ...]             # what the first check found (before any fetch)
    open_hours: tuple[_dt.datetime, ...]   # not over on the exchange when fetched: not problems
    stats_rebuilt: int                     # statistics files rebuilt from the data files
    refetched: tuple[_dt.datetime, ...]    # hours fetched again
    repaired: tuple[_dt.datetime, ...]     # of those, the ones now without a problem
    failing: tuple[_dt.datetime, ...]      # hours that still have a problem
    refetch: SyncReport | None             # the refetch run (None if none ran)
    counts: dict[str, int] = field(default_factory=dict)  # problems by kind, in the tool's order

    @property
    def ok(self) -> bool:
        """No problem remains."""
        return not self.problems


def _problems(check: _lib.AgtVerifyCheck, names: dict[int, str]) -> tuple[Problem, ...]:
    out = []
    for i in range(check.nproblems):
        p = check.problems[i]
        out.append(Problem(kind=names.get(p.kind, str(p.kind)), hour=_time(p.hour_us) if p.hour_us >= 0 else None,
                           path=p.path.decode("utf-8", "replace"), detail=p.detail.decode("utf-8", "replace")))
    return tuple(out)


def _hours(ptr: Any, n: int) -> tuple[_dt.datetime, ...]:
    return tuple(_time(ptr[i]) for i in range(n))


def _from_c(st: int, err: _lib.AgtError, symbol: str, r: _lib.AgtVerifyReport) -> VerifyReport:
    so = _lib.lib()
    names = {k: so.agt_problem_name(k).decode() for k in range(8)}
    index = _problems(r.index, names)
    found = _problems(r.found, names) if r.stage >= _STAGE_HOURS else index
    if r.stage >= _STAGE_AFTER:
        now, last = _problems(r.after, names), r.after
    else:
        now, last = found, r.found
    refetched = _hours(r.refetched, r.nrefetched)
    bad = {p.hour for p in now if p.hour is not None}
    failing = tuple(sorted(bad))
    ranged = r.stage >= _STAGE_HOURS
    return VerifyReport(
        status=_status_name(st), message=err.message.decode("utf-8", "replace") if st else "", symbol=symbol,
        start=_time(r.start_us) if ranged else None, end=_time(r.end_us) if ranged else None,
        hours_checked=last.hours, problems=now, found=found, open_hours=_hours(last.open_hours, last.nopen),
        stats_rebuilt=r.stats_rebuilt, refetched=refetched,
        repaired=tuple(h for h in refetched if h not in bad) if r.stage >= _STAGE_AFTER else (),
        failing=failing,
        refetch=_report(r.refetch_status, r.refetch_error, r.refetch) if r.nrefetched else None,
        counts={k: n for k in names.values() if (n := sum(p.kind == k for p in now))},
    )


def _bound(name: str, value: Any, end: bool) -> int:
    """A time bound as µs (-1: none); LakeError for a bad one."""
    if value is None:
        return -1
    try:
        us = _to_us(value, end)
    except (TypeError, ValueError) as e:
        raise LakeError("AGT_EINVAL", f"invalid {name} {value!r}: {e}") from None
    if us < 0:
        raise LakeError("AGT_EINVAL", f"invalid {name} {value!r}: before 1970")
    return us


def verify(root: str | os.PathLike[str], symbol: str, *, start: Any = None, end: Any = None,
           repair: bool = False, market: str = "spot", source: str = "auto", api_url: str | None = None,
           archive_url: str | None = None, interval_ms: int = 50, paging: str = "time",
           progress: Callable[[SyncEvent], Any] | None = None) -> VerifyReport:
    """Check the stored hours of ``symbol`` (any case); with ``repair=True``, repair them.

    As ``aggtrades verify SYMBOL [--start] [--end] [--repair] [--source]``:
    ``start`` and ``end`` (a date, a time, or None: from the oldest stored hour
    to the newest) bound the check; ``source`` is where a repair takes whole
    old days from (``"auto"``, ``"rest"``, ``"archive"``); ``market`` is
    ``"spot"``, ``"um"`` or ``"cm"``. ``progress`` gets every event (the
    checks as ``"checked"``, then the refetch's); a true value stops the
    repair. Returns a :class:`VerifyReport`; ``report.ok`` when no problem
    remains.
    """
    if not isinstance(symbol, str):
        raise LakeError("AGT_EINVAL", f"invalid symbol {symbol!r} (one symbol, a str)")
    sym = _symbols(symbol)[0]
    start_us, end_us = _bound("start", start, False), _bound("end", end, True)
    if start_us >= 0 and end_us >= 0 and end_us < start_us:
        raise LakeError("AGT_EINVAL", f"reversed range: end {end!r} is before start {start!r}")
    with _Session(root, source=source, api_url=api_url, archive_url=archive_url, interval_ms=interval_ms,
                  paging=paging, progress=progress, market=market) as s:
        rep = ctypes.POINTER(_lib.AgtVerifyReport)()
        err = _lib.AgtError()
        try:
            st = s.call(s._so.agt_sync_verify, sym, start_us, end_us, 1 if repair else 0, ctypes.byref(rep),
                        ctypes.byref(err))
            r = rep.contents if rep else None
            name = _status_name(st)
            if r is None or not (name in ("AGT_OK", "AGT_EINCOMPLETE", "AGT_ECANCELLED")):
                raise _error(st, err, r.refetch if r is not None and r.nrefetched else None)
            if r.nrefetched and not _ran(r.refetch_status, r.refetch):
                raise _error(st, err, r.refetch)
            return _from_c(st, err, sym.decode(), r)
        finally:
            s._so.agt_verify_report_free(rep)
