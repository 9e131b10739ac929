"""The Python binding itself: ABI layout, library loading, errors, re-exports.

These tests need no simulator. The layout test compiles a small C program
against the public headers and compares every struct size and field offset
with the ctypes mirrors in ``aggtrades._lib``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import aggtrades
from aggtrades import _lib

REPO = Path(__file__).resolve().parents[2]

STRUCTS: dict[str, type[ctypes.Structure]] = {
    "agt_error": _lib.AgtError,
    "agt_trades": _lib.AgtTrades,
    "agt_client_opts": _lib.AgtClientOpts,
    "agt_hour_info": _lib.AgtHourInfo,
    "agt_hour_meta": _lib.AgtHourMeta,
    "agt_commit_result": _lib.AgtCommitResult,
    "agt_changes": _lib.AgtChanges,
    "agt_sync_opts": _lib.AgtSyncOpts,
    "agt_sync_event": _lib.AgtSyncEvent,
    "agt_sync_report": _lib.AgtSyncReport,
    "agt_verify_problem": _lib.AgtVerifyProblem,
    "agt_verify_check": _lib.AgtVerifyCheck,
    "agt_verify_report": _lib.AgtVerifyReport,
    "agt_symbol_status": _lib.AgtSymbolStatus,
}


def test_every_mirror_is_checked() -> None:
    mirrors = {name for name, obj in vars(_lib).items()
               if isinstance(obj, type) and issubclass(obj, ctypes.Structure)}
    assert mirrors == {py.__name__ for py in STRUCTS.values()}


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_ctypes_layout_matches_c_headers(tmp_path: Path) -> None:
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "aggtrades/common.h"',
             '#include "aggtrades/aggtrades.h"', "int main(void) {"]  # fmt: skip
    for cname, py in STRUCTS.items():
        lines.append(f'printf("{cname} sizeof %zu\\n", sizeof(struct {cname}));')
        for field, _ in py._fields_:
            lines.append(f'printf("{cname} {field} %zu\\n", offsetof(struct {cname}, {field}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-std=c11", "-I", str(REPO / "include"), str(src), "-o", str(exe)], check=True)
    c_values = dict(
        (" ".join(p[:2]), int(p[2])) for p in (ln.split() for ln in subprocess.check_output([str(exe)], text=True).splitlines())
    )
    for cname, py in STRUCTS.items():
        assert c_values[f"{cname} sizeof"] == ctypes.sizeof(py), cname
        for field, _ in py._fields_:
            assert c_values[f"{cname} {field}"] == getattr(py, field).offset, (cname, field)


def test_status_names_match_library() -> None:
    try:
        so = _lib.lib()
    except _lib.LibraryNotFound:
        pytest.skip("libaggtrades.so not built")
    for code, name in enumerate(_lib.AGT_STATUS_NAMES):
        assert so.agt_status_name(code).decode() == name


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "python"), **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env)


def test_missing_library_gives_clear_error_but_import_works() -> None:
    r = _run(
        "import aggtrades, datetime\n"
        "try:\n"
        "    aggtrades.get_hourly_agg_trades('BTCUSDT', datetime.date(2024, 1, 1), 0, base_url='http://127.0.0.1:9')\n"
        "except aggtrades.LibraryNotFound as e:\n"
        "    print('LNF', e)\n"
        "try:\n"
        "    aggtrades.get_hourly_agg_trades('btc', datetime.date(2024, 1, 1), 0)\n"
        "except ValueError:\n"
        "    print('VE')\n",
        AGT_LIB="/nonexistent/libaggtrades.so",
    )
    assert r.returncode == 0, r.stderr
    assert "LNF" in r.stdout and "/nonexistent/libaggtrades.so" in r.stdout and "make" in r.stdout
    assert "VE" in r.stdout  # validation does not need the library


def test_fetch_error_fields() -> None:
    e = aggtrades.FetchError(7, "invalid symbol", http_status=400, api_code=-1121, attempts=1)
    assert (e.status, e.status_code, e.http_status, e.api_code, e.attempts) == ("AGT_EAPI", 7, 400, -1121, 1)
    assert "invalid symbol" in str(e) and "-1121" in str(e)
    assert isinstance(e, RuntimeError)


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(TypeError):
        aggtrades.get_hourly_agg_trades("BTCUSDT", "2024-01-01", 0, intervalms=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        aggtrades.get_hourly_agg_trades("BTCUSDT", "2024-01-01", 0, interval_ms=-1)
    with pytest.raises(ValueError):
        aggtrades.get_hourly_agg_trades("BTCUSDT", "2024-01-01", 0, base_url="ftp://x")


def test_lake_readers_are_reexported() -> None:
    assert callable(aggtrades.read_trades)
    assert callable(aggtrades.read_changes)
    if (REPO / "python" / "aggtrades" / "lake.py").exists():
        from aggtrades import lake

        assert aggtrades.read_trades is lake.read_trades
        assert aggtrades.read_changes is lake.read_changes
