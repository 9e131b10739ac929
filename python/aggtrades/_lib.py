"""Low-level ctypes declarations for ``libaggtrades.so``.

This module holds every ctypes mirror of a C structure of the public headers
(``include/aggtrades/``: common.h, fetch.h, lake.h, sync.h, verify.h, status.h), field for field,
and declares the prototypes the binding calls; tests/integration/test_binding.py
compiles a C program that checks each mirror's size and offsets against the
headers. It holds no logic beyond locating and loading the library;
the library is loaded lazily (on the first call of :func:`lib`) so that
``import aggtrades`` works without a build, e.g. for the pure-Python lake
readers.

The library is the one installed inside this package
(``aggtrades/libaggtrades.so``, put there by ``pip install``), unless the
environment variable ``AGT_LIB`` names another one (the tests use it to load
the library of a development build).
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

__all__ = [
    "AGT_STATUS_NAMES",
    "AgtClientOpts",
    "AgtChanges",
    "AgtCommitResult",
    "AgtError",
    "AgtHourInfo",
    "AgtHourMeta",
    "AgtSymbolStatus",
    "AgtSyncEvent",
    "AgtSyncOpts",
    "AgtSyncReport",
    "AgtTrades",
    "AgtVerifyCheck",
    "AgtVerifyProblem",
    "AgtVerifyReport",
    "LibraryNotFound",
    "PROGRESS_FN",
    "SYNC_EVENT_FN",
    "lib",
    "library_path",
    "version",
]

# Stable values of enum agt_status (common.h); index = numeric value.
AGT_STATUS_NAMES: tuple[str, ...] = (
    "AGT_OK",
    "AGT_EINVAL",
    "AGT_ENOMEM",
    "AGT_EIO",
    "AGT_ENOSPC",
    "AGT_ENET",
    "AGT_EHTTP",
    "AGT_EAPI",
    "AGT_EBANNED",
    "AGT_EPARSE",
    "AGT_ECORRUPT",
    "AGT_EUNSUPPORTED",
    "AGT_ELOCKED",
    "AGT_ENOTFOUND",
    "AGT_ECANCELLED",
    "AGT_ECHECKSUM",
    "AGT_EINCOMPLETE",
)
AGT_OK = 0
AGT_ECANCELLED = 14
AGT_EINCOMPLETE = 16


class LibraryNotFound(ImportError):
    """``libaggtrades.so`` could not be found or loaded."""


class AgtError(ctypes.Structure):
    """``struct agt_error``."""

    _fields_ = [
        ("status", ctypes.c_int),
        ("http_status", ctypes.c_int),
        ("api_code", ctypes.c_int),
        ("sys_errno", ctypes.c_int),
        ("attempts", ctypes.c_int),
        ("message", ctypes.c_char * 512),
    ]


class AgtTrades(ctypes.Structure):
    """``struct agt_trades``: a column table owned by the C library."""

    _fields_ = [
        ("trade_id", ctypes.POINTER(ctypes.c_int64)),
        ("ts_us", ctypes.POINTER(ctypes.c_int64)),
        ("price", ctypes.POINTER(ctypes.c_double)),
        ("quantity", ctypes.POINTER(ctypes.c_double)),
        ("is_buyer_maker", ctypes.POINTER(ctypes.c_uint8)),
        ("len", ctypes.c_size_t),
        ("cap", ctypes.c_size_t),
    ]


# int (*agt_fetch_progress_fn)(void *user, uint64_t body_bytes, uint64_t trades)
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64)


class AgtClientOpts(ctypes.Structure):
    """``struct agt_client_opts``."""

    _fields_ = [
        ("api_url", ctypes.c_char_p),
        ("interval_ms", ctypes.c_int),
        ("max_attempts", ctypes.c_int),
        ("max_ban_wait_s", ctypes.c_int),
        ("connect_timeout_ms", ctypes.c_long),
        ("timeout_ms", ctypes.c_long),
        ("weight_budget", ctypes.c_int),
        ("backoff_base_ms", ctypes.c_int),
        ("complete_margin_ms", ctypes.c_int),
        ("paging", ctypes.c_int),
        ("low_speed_limit", ctypes.c_long),
        ("low_speed_time_s", ctypes.c_int),
        ("unit_deadline_s", ctypes.c_int),
        ("progress", PROGRESS_FN),
        ("progress_user", ctypes.c_void_p),
        ("market", ctypes.c_int),  # agt_market
    ]


class AgtHourInfo(ctypes.Structure):
    """``struct agt_hour_info``."""

    _fields_ = [
        ("hour_start_us", ctypes.c_int64),
        ("prev_id", ctypes.c_int64),
        ("prev_ts_us", ctypes.c_int64),
        ("server_time_us", ctypes.c_int64),
        ("complete", ctypes.c_int),
        ("requests", ctypes.c_int),
        ("bytes", ctypes.c_uint64),
    ]


class AgtHourMeta(ctypes.Structure):
    """``struct agt_hour_meta`` (lake.h)."""

    _fields_ = [
        ("prev_id", ctypes.c_int64),
        ("complete", ctypes.c_int),
        ("source", ctypes.c_char_p),
        ("fetched_at_us", ctypes.c_int64),
    ]


class AgtCommitResult(ctypes.Structure):
    """``struct agt_commit_result`` (lake.h)."""

    _fields_ = [(n, ctypes.c_int64) for n in ("inserted", "updated", "skipped", "rows", "version")]


class AgtChanges(ctypes.Structure):
    """``struct agt_changes`` (lake.h)."""

    _fields_ = [
        ("rows", AgtTrades),
        ("type", ctypes.POINTER(ctypes.c_uint8)),
        ("version", ctypes.POINTER(ctypes.c_int64)),
        ("commit_ts_us", ctypes.POINTER(ctypes.c_int64)),
        ("len", ctypes.c_size_t),
        ("cap", ctypes.c_size_t),
    ]


class AgtSyncEvent(ctypes.Structure):
    """``struct agt_sync_event`` (sync.h)."""

    _fields_ = [
        ("kind", ctypes.c_int),
        ("verb", ctypes.c_char_p),
        ("index", ctypes.c_size_t),
        ("nsyms", ctypes.c_size_t),
        ("symbol", ctypes.c_char_p),
        ("hour_us", ctypes.c_int64),
        ("day_us", ctypes.c_int64),
        ("ok", ctypes.c_int),
        ("units", ctypes.c_uint64),
        ("bytes", ctypes.c_uint64),
        ("trades", ctypes.c_uint64),
        ("rows", ctypes.c_uint64),
        ("inserted", ctypes.c_int64),
        ("updated", ctypes.c_int64),
        ("days_total", ctypes.c_int),
        ("days_skipped", ctypes.c_int),
        ("failed_hours", ctypes.c_int),
        ("interrupted", ctypes.c_int),
        ("message", ctypes.c_char_p),
        ("verify", ctypes.c_void_p),  # const agt_verify_report * (AGT_SYNC_CHECKED)
    ]


# int (*agt_sync_event_fn)(void *user, const agt_sync_event *ev)
SYNC_EVENT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(AgtSyncEvent))


class AgtSyncOpts(ctypes.Structure):
    """``struct agt_sync_opts`` (sync.h)."""

    _fields_ = [
        ("api_url", ctypes.c_char_p),
        ("archive_url", ctypes.c_char_p),
        ("interval_ms", ctypes.c_int),
        ("source", ctypes.c_int),  # agt_source_policy
        ("paging", ctypes.c_int),
        ("low_speed_limit", ctypes.c_long),
        ("low_speed_time_s", ctypes.c_int),
        ("unit_deadline_s", ctypes.c_int),
        ("on_event", SYNC_EVENT_FN),
        ("user", ctypes.c_void_p),
        ("market", ctypes.c_int),  # agt_market
        ("archive_months", ctypes.c_int),
        ("jobs", ctypes.c_int),
    ]


class AgtSyncReport(ctypes.Structure):
    """``struct agt_sync_report`` (sync.h)."""

    _fields_ = [
        ("symbols", ctypes.c_size_t),
        ("units_total", ctypes.c_uint64),
        ("units_done", ctypes.c_uint64),
        ("units_failed", ctypes.c_uint64),
        ("days_total", ctypes.c_int),
        ("days_skipped", ctypes.c_int),
        ("trades", ctypes.c_uint64),
        ("bytes", ctypes.c_uint64),
        ("inserted", ctypes.c_int64),
        ("updated", ctypes.c_int64),
        ("interrupted", ctypes.c_int),
        ("unreachable", ctypes.c_int),
    ]


class AgtVerifyProblem(ctypes.Structure):
    """``struct agt_verify_problem`` (verify.h)."""

    _fields_ = [
        ("kind", ctypes.c_int),  # agt_problem_kind
        ("hour_us", ctypes.c_int64),
        ("path", ctypes.c_char * 256),
        ("detail", ctypes.c_char * 256),
    ]


class AgtVerifyCheck(ctypes.Structure):
    """``struct agt_verify_check`` (verify.h)."""

    _fields_ = [
        ("problems", ctypes.POINTER(AgtVerifyProblem)),
        ("nproblems", ctypes.c_size_t),
        ("open_hours", ctypes.POINTER(ctypes.c_int64)),
        ("nopen", ctypes.c_size_t),
        ("hours", ctypes.c_int64),
    ]


class AgtVerifyReport(ctypes.Structure):
    """``struct agt_verify_report`` (verify.h)."""

    _fields_ = [
        ("stage", ctypes.c_int),  # agt_verify_stage
        ("start_us", ctypes.c_int64),
        ("end_us", ctypes.c_int64),
        ("index", AgtVerifyCheck),
        ("stats_rebuilt", ctypes.c_size_t),
        ("found", AgtVerifyCheck),
        ("refetched", ctypes.POINTER(ctypes.c_int64)),
        ("nrefetched", ctypes.c_size_t),
        ("refetch_status", ctypes.c_int),
        ("refetch_error", AgtError),
        ("refetch", AgtSyncReport),
        ("after", AgtVerifyCheck),
    ]


class AgtSymbolStatus(ctypes.Structure):
    """``struct agt_symbol_status`` (status.h)."""

    _fields_ = [
        ("symbol", ctypes.c_char * 24),
        *[(n, ctypes.c_int64) for n in ("first_hour_us", "last_hour_us", "hours", "complete",
                                        "open", "failed", "missing", "trades", "data_files")],
        ("data_bytes", ctypes.c_uint64),
        ("change_versions", ctypes.c_int64),
        ("latest_version", ctypes.c_int64),
        ("change_bytes", ctypes.c_uint64),
    ]


_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


def library_path() -> Path:
    """Return the path the library is (or would be) loaded from."""
    env = os.environ.get("AGT_LIB")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "libaggtrades.so"


def _declare(so: ctypes.CDLL) -> None:
    p = ctypes.POINTER
    c_client_p = ctypes.c_void_p

    so.agt_status_name.argtypes = [ctypes.c_int]
    so.agt_status_name.restype = ctypes.c_char_p
    so.agt_version.argtypes = []
    so.agt_version.restype = ctypes.c_char_p

    so.agt_trades_init.argtypes = [p(AgtTrades)]
    so.agt_trades_init.restype = None
    so.agt_trades_release.argtypes = [p(AgtTrades)]
    so.agt_trades_release.restype = None

    so.agt_client_opts_default.argtypes = [p(AgtClientOpts)]
    so.agt_client_opts_default.restype = None
    so.agt_client_new.argtypes = [p(AgtClientOpts), p(c_client_p), p(AgtError)]
    so.agt_client_new.restype = ctypes.c_int
    so.agt_client_free.argtypes = [c_client_p]
    so.agt_client_free.restype = None
    so.agt_client_server_time.argtypes = [c_client_p, p(ctypes.c_int64), p(AgtError)]
    so.agt_client_server_time.restype = ctypes.c_int
    so.agt_fetch_hour.argtypes = [
        c_client_p,
        ctypes.c_char_p,
        ctypes.c_int64,
        p(AgtTrades),
        p(AgtHourInfo),
        p(AgtError),
    ]
    so.agt_fetch_hour.restype = ctypes.c_int
    so.agt_market_lake_dir.argtypes = [ctypes.c_int]
    so.agt_market_lake_dir.restype = ctypes.c_char_p

    c_sync_p = ctypes.c_void_p
    so.agt_sync_opts_default.argtypes = [p(AgtSyncOpts)]
    so.agt_sync_opts_default.restype = None
    so.agt_sync_open.argtypes = [ctypes.c_char_p, p(AgtSyncOpts), p(c_sync_p), p(AgtError)]
    so.agt_sync_open.restype = ctypes.c_int
    so.agt_sync_close.argtypes = [c_sync_p]
    so.agt_sync_close.restype = None
    so.agt_sync_download.argtypes = [
        c_sync_p, p(ctypes.c_char_p), ctypes.c_size_t, ctypes.c_int64, ctypes.c_int64,
        p(AgtSyncReport), p(AgtError),
    ]
    so.agt_sync_download.restype = ctypes.c_int
    so.agt_sync_update.argtypes = [
        c_sync_p, p(ctypes.c_char_p), ctypes.c_size_t, ctypes.c_int, p(AgtSyncReport), p(AgtError),
    ]
    so.agt_sync_update.restype = ctypes.c_int
    so.agt_sync_retry.argtypes = [c_sync_p, p(AgtSyncReport), p(AgtError)]
    so.agt_sync_retry.restype = ctypes.c_int
    so.agt_sync_repair_hours.argtypes = [
        c_sync_p, ctypes.c_char_p, p(ctypes.c_int64), ctypes.c_size_t, p(AgtSyncReport), p(AgtError),
    ]
    so.agt_sync_repair_hours.restype = ctypes.c_int
    so.agt_sync_verify.argtypes = [
        c_sync_p, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int,
        p(p(AgtVerifyReport)), p(AgtError),
    ]
    so.agt_sync_verify.restype = ctypes.c_int
    so.agt_verify_report_free.argtypes = [p(AgtVerifyReport)]
    so.agt_verify_report_free.restype = None
    so.agt_problem_name.argtypes = [ctypes.c_int]
    so.agt_problem_name.restype = ctypes.c_char_p
    so.agt_lake_status.argtypes = [
        ctypes.c_void_p, p(ctypes.c_char_p), ctypes.c_size_t, p(p(AgtSymbolStatus)),
        p(ctypes.c_size_t), p(AgtError),
    ]
    so.agt_lake_status.restype = ctypes.c_int
    so.agt_symbol_status_free.argtypes = [p(AgtSymbolStatus)]
    so.agt_symbol_status_free.restype = None
    so.agt_symbol_normalize.argtypes = [ctypes.c_char_p, ctypes.c_char * 24, p(AgtError)]
    so.agt_symbol_normalize.restype = ctypes.c_int


def lib() -> ctypes.CDLL:
    """Load (once) and return the declared ``libaggtrades.so``.

    Raises :class:`LibraryNotFound` with instructions when it is missing.
    """
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            path = library_path()
            if not path.is_file():
                raise LibraryNotFound(
                    f"aggtrades: shared library not found at '{path}'; install the package "
                    "with `pip install .` (or `make`) in the repository, or set AGT_LIB to "
                    "the path of a built libaggtrades.so"
                )
            try:
                so = ctypes.CDLL(str(path))
                _declare(so)
            except (OSError, AttributeError) as exc:
                raise LibraryNotFound(
                    f"aggtrades: cannot load '{path}': {exc}; reinstall the package "
                    "(`pip install .` or `make` in the repository)"
                ) from exc
            _lib = so
    return _lib


def version() -> str:
    """The version of the loaded library, ``"X.Y.Z"``: the one ``aggtrades --version`` prints."""
    v: bytes = lib().agt_version()
    return v.decode()
