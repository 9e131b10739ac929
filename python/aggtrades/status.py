"""What a lake holds, per symbol: ``aggtrades status``.

The library's call (``agt_lake_status``, ``include/aggtrades/status.h``), the
one the tool runs::

    import aggtrades
    for s in aggtrades.status("./data"):
        print(s.symbol, s.first_hour, s.last_hour, s.complete, s.open, s.failed, s.missing)

It is told from the lake's bookkeeping alone (the statistics index, the
``.retry`` ledger, the change feed's file names): no data file is read, no
lock is taken, nothing is written. Each hour of a symbol's span (its first
to its last hour stored or failed) is counted once: ``failed`` (listed in
``.retry``), else ``complete``, else ``open`` (stored before it had ended),
else ``missing`` (docs/cli-outputs.md, "status"). Bad input (a symbol, a
market, no lake at the root, a symbol the lake does not hold) raises
:class:`~aggtrades.LakeError`.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from . import _lib
from .fetch import _check_market
from .lake import LakeError, _Lake
from .sync import _status_name, _symbols

__all__ = ["SymbolStatus", "status"]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


@dataclass(frozen=True)
class SymbolStatus:
    """One symbol of a lake (``struct agt_symbol_status``); the fields are those of
    ``aggtrades status --output json``, the hours as UTC datetimes."""

    symbol: str
    first_hour: _dt.datetime  # start of the span's first hour
    last_hour: _dt.datetime   # start of its last hour
    hours: int                # hours of the span = complete + open + failed + missing
    complete: int
    open: int
    failed: int
    missing: int
    trades: int               # rows of every stored hour
    data_files: int
    data_bytes: int           # the data files' sizes, as the statistics record them
    change_versions: int      # change-feed files (one per commit)
    latest_version: int       # the newest of them; 0 if none
    change_bytes: int

    def as_dict(self) -> dict[str, Any]:
        """The object ``aggtrades status --output json`` prints for the symbol."""
        d = asdict(self)
        for k in ("first_hour", "last_hour"):
            d[k] = d[k].strftime("%Y-%m-%dT%H:%M:%SZ")
        return d


def _from_c(s: _lib.AgtSymbolStatus) -> SymbolStatus:
    hour = lambda us: _EPOCH + _dt.timedelta(microseconds=us)  # noqa: E731
    return SymbolStatus(
        symbol=s.symbol.decode(), first_hour=hour(s.first_hour_us), last_hour=hour(s.last_hour_us),
        hours=s.hours, complete=s.complete, open=s.open, failed=s.failed, missing=s.missing,
        trades=s.trades, data_files=s.data_files, data_bytes=s.data_bytes,
        change_versions=s.change_versions, latest_version=s.latest_version,
        change_bytes=s.change_bytes)


def status(root: str | os.PathLike[str], symbols: str | Iterable[str] | None = None, *,
           market: str = "spot") -> list[SymbolStatus]:
    """What the lake at ``root`` holds for ``symbols`` (any case; ``None``: every symbol
    stored or listed in ``.retry``, sorted), one :class:`SymbolStatus` each, in the order
    asked. ``market`` is ``"spot"`` (default), ``"um"`` or ``"cm"`` (the futures lake
    under ``root/_futures/``, with its own ``.retry``).

    Raises :class:`~aggtrades.LakeError`: ``AGT_EINVAL`` for a bad symbol or market,
    ``AGT_ENOTFOUND`` when there is no lake at the root (nothing is created) or a symbol
    asked for is neither stored nor in ``.retry``, ``AGT_ECORRUPT`` naming a damaged
    statistics file (``verify(..., repair=True)`` rebuilds it)."""
    try:
        _check_market(market)
    except ValueError as e:
        raise LakeError("AGT_EINVAL", str(e)) from None
    names = _symbols(symbols) if symbols is not None else None
    so = _lib.lib()
    out = ctypes.POINTER(_lib.AgtSymbolStatus)()
    n = ctypes.c_size_t()
    err = _lib.AgtError()
    with _Lake(root, market) as lake:
        st = so.agt_lake_status(lake.h, names, len(names) if names is not None else 0,
                                ctypes.byref(out), ctypes.byref(n), ctypes.byref(err))
    if st != _lib.AGT_OK:
        raise LakeError(_status_name(st), err.message.decode("utf-8", "replace"))
    try:
        return [_from_c(out[i]) for i in range(n.value)]
    finally:
        so.agt_symbol_status_free(out)
