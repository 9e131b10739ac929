"""The Python package, as a pandas user meets it: ``pip install`` of the checkout.

A fresh virtual environment outside the checkout installs the checkout with
plain ``pip install`` (build isolation, scikit-build-core compiling the C
sources). Everything after runs from /tmp with no ``AGT_*`` and no
``PYTHONPATH`` in the environment, so only the installed package can answer:
``get_hourly_agg_trades`` against the simulator; ``aggtrades.download``
building a lake, and the ``aggtrades`` command of the wheel building another,
each read back with ``read_trades``; all exact against the simulator's truth;
the versions; ``python -m aggtrades``.

One install (one C build, in pip's isolated build environment) serves the
whole module.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from conftest import SimProcess

REPO = Path(__file__).resolve().parents[2]
NOW = "2024-03-01T12:34:56Z"
VERSION = re.search(r"project\(aggtrades VERSION ([0-9.]+)", (REPO / "CMakeLists.txt").read_text())[1]  # type: ignore[index]
SYMBOL, DAY = "ETHBTC", "2024-02-05"
DAY_US = 1707091200 * 1_000_000  # 2024-02-05 00:00 UTC
HOUR_US = 3_600_000_000


def user_env() -> dict[str, str]:
    """This process's environment without what points into the checkout."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    return {k: v for k, v in os.environ.items() if not k.startswith("AGT_") and k not in drop}


def run(cmd: list[str], timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/tmp", env=user_env(), **kw)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("venv")
    assert not d.resolve().is_relative_to(REPO)
    r = run([sys.executable, "-m", "venv", str(d)])
    assert r.returncode == 0, r.stderr
    r = run([str(d / "bin/python"), "-m", "pip", "install", "-q", str(REPO)], timeout=1800)
    assert r.returncode == 0, f"pip install of the checkout failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    yield d


def py(venv: Path, code: str, *args: str) -> Any:
    """Run ``code`` with the venv's Python from /tmp; it prints one JSON document."""
    r = run([str(venv / "bin/python"), "-c", code, *args])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


ROWS = '''
def rows(df):
    return [[int(a), int(t), float(p), float(q), bool(m)] for a, t, p, q, m in zip(
        df["trade_id"], df["timestamp"].array.asi8 // 1000, df["price"], df["quantity"], df["is_buyer_maker"])]
'''


def truth(sim: SimProcess, start_us: int, end_us: int) -> list[list[Any]]:
    """The simulator's trades, one per id (the newest wins), in the contract's order."""
    by_id = {t["a"]: t for t in sim.truth(SYMBOL, start_us, end_us)}
    rows = sorted(by_id.values(), key=lambda t: (t["T"], t["a"]))
    return [[t["a"], t["T"], float(t["p"]), float(t["q"]), bool(t["m"])] for t in rows]


def test_package_loads_its_own_library(venv: Path) -> None:
    got = py(venv, "import json, aggtrades, importlib.metadata as m\n"
                   "from aggtrades import _lib\n"
                   "print(json.dumps([aggtrades.__file__, str(_lib.library_path()), aggtrades.__version__,\n"
                   "                  m.version('aggtrades')]))")
    package = Path(got[0]).parent
    assert package.is_relative_to(venv) and Path(got[1]) == package / "libaggtrades.so"
    assert got[2] == got[3] == VERSION
    assert (package / "py.typed").is_file()


def test_command_is_the_bundled_tool(venv: Path) -> None:
    out = run([str(venv / "bin/aggtrades"), "--version"])
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(rf"aggtrades {re.escape(VERSION)} \(build ([0-9a-f]+|unknown)\)\n", out.stdout)
    assert run([str(venv / "bin/python"), "-m", "aggtrades", "--version"]).stdout == out.stdout
    tool = next((venv / "lib").glob("python3*/site-packages/aggtrades/bin/aggtrades"))
    assert tool.read_bytes()[:4] == b"\x7fELF"  # the C binary, not a script
    bad = run([str(venv / "bin/aggtrades"), "download", "btc!", "--start", "2024-01-01", "--end", "2024-01-01"])
    assert bad.returncode == 2 and bad.stderr.startswith("aggtrades: ")


def test_get_hourly_agg_trades_matches_the_truth(venv: Path, start_sim: Callable[..., SimProcess]) -> None:
    sim = start_sim("--now", NOW)
    got = py(venv, ROWS + "import json, sys, datetime, aggtrades\n"
                          "df = aggtrades.get_hourly_agg_trades(sys.argv[1], datetime.date(2024, 2, 5), 13,"
                          " base_url=sys.argv[2])\n"
                          "print(json.dumps(rows(df)))", SYMBOL, sim.url)
    want = truth(sim, DAY_US + 13 * HOUR_US, DAY_US + 14 * HOUR_US - 1)
    assert len(want) > 10 and got == want


def test_download_then_read_trades_matches_the_truth(
        venv: Path, tmp_path: Path, start_sim: Callable[..., SimProcess]) -> None:
    sim = start_sim("--now", NOW)
    got = py(venv, ROWS + "import json, sys, aggtrades\n"
                          "r = aggtrades.download(sys.argv[1], sys.argv[2].lower(), sys.argv[3], sys.argv[3],"
                          " api_url=sys.argv[4], archive_url=sys.argv[4])\n"
                          "df = aggtrades.read_trades(sys.argv[1], sys.argv[2], '2024-02-05', '2024-02-05')\n"
                          "print(json.dumps([r.status, r.units_done, r.units_failed, r.trades, rows(df)]))",
             str(tmp_path / "lake"), SYMBOL, DAY, sim.url)
    status, done, failed, trades, rows = got
    want = truth(sim, DAY_US, DAY_US + 24 * HOUR_US - 1)
    assert (status, done, failed) == ("AGT_OK", 24, 0)
    assert trades == len(want) > 100 and rows == want


def test_tool_download_then_read_trades_matches_the_truth(
        venv: Path, tmp_path: Path, start_sim: Callable[..., SimProcess]) -> None:
    sim = start_sim("--now", NOW)
    root = tmp_path / "lake"
    r = run([str(venv / "bin/aggtrades"), "--root", str(root), "--api-url", sim.url, "--archive-url", sim.url,
             "--no-progress", "download", SYMBOL, "--start", DAY, "--end", DAY], timeout=300)
    assert r.returncode == 0, r.stderr
    got = py(venv, ROWS + "import json, sys, aggtrades\n"
                          "df = aggtrades.read_trades(sys.argv[1], sys.argv[2], '2024-02-05 05:00', '2024-02-05 07:59:59.999999')\n"
                          "print(json.dumps(rows(df)))", str(root), SYMBOL)
    want = truth(sim, DAY_US + 5 * HOUR_US, DAY_US + 8 * HOUR_US - 1)
    assert len(want) > 10 and got == want
