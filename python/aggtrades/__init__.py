"""aggtrades: an exact local copy of Binance spot aggregate trades.

Python binding of the C library ``libaggtrades.so``::

    from aggtrades import get_hourly_agg_trades
    df = get_hourly_agg_trades("BTCUSDT", "2023-10-01", 13)

Fetching (:func:`get_hourly_agg_trades`, :func:`fetch_hour`,
:class:`Client`, :class:`FetchError`) lives in :mod:`aggtrades.fetch`;
reading a lake (:func:`read_trades`, :func:`read_changes`, :class:`LakeError`)
in :mod:`aggtrades.lake`; building and keeping one (:func:`download`,
:func:`update`, :func:`retry`, the library's engine, the one the tool runs)
in :mod:`aggtrades.sync`; checking and repairing one (:func:`verify`) in
:mod:`aggtrades.verify`; what it holds per symbol (:func:`status`) in
:mod:`aggtrades.status`::

    import aggtrades
    aggtrades.download("./data", ["BTCUSDT", "ETHUSDT"], "2024-03-01", "2024-03-31")
    df = aggtrades.read_trades("./data", "BTCUSDT", "2024-03-05", "2024-03-05")
    [s.missing for s in aggtrades.status("./data")]

The shared library, installed inside this package
by ``pip install``, is loaded on first use (``$AGT_LIB`` names another one).
``__version__`` is the library's version, the one ``aggtrades --version``
prints; ``python -m aggtrades`` runs that tool.
"""

from __future__ import annotations

import importlib.util as _ilu
from typing import Any as _Any

from ._lib import LibraryNotFound
from ._lib import version as _library_version
from .fetch import COLUMNS, Client, FetchError, fetch_hour, get_hourly_agg_trades

__all__ = [
    "COLUMNS",
    "Client",
    "FetchError",
    "LakeError",
    "LibraryNotFound",
    "Problem",
    "SymbolStatus",
    "SyncEvent",
    "SyncReport",
    "VerifyReport",
    "download",
    "fetch_hour",
    "get_hourly_agg_trades",
    "read_changes",
    "read_trades",
    "retry",
    "status",
    "update",
    "verify",
]

if _ilu.find_spec(f"{__name__}.lake") is not None:
    # lake.py exists: import it for real, so its own errors surface as they are.
    from .lake import LakeError, read_changes, read_trades
    from .sync import SyncEvent, SyncReport, download, retry, update
    from .verify import Problem, VerifyReport, verify
    from .status import SymbolStatus, status
else:  # pragma: no cover - only in a checkout without the lake module

    def _lake_missing(*_args: _Any, **_kwargs: _Any) -> _Any:
        raise ImportError(
            "aggtrades.lake is not available in this installation "
            "(python/aggtrades/lake.py is missing); read_trades/read_changes need it"
        )

    read_trades = _lake_missing
    read_changes = _lake_missing

__version__: str  # from the library, on first access (module __getattr__ below)


def __getattr__(name: str) -> _Any:
    if name == "__version__":
        return _library_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
