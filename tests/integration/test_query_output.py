"""``query --output jsonl`` and ``--output parquet``, and ``--file`` that refuses
to replace an existing file unless ``--force``: the real binary on a lake
downloaded from the simulator, each output read back by pandas, DuckDB,
pyarrow and polars and compared with ``aggtrades.read_trades``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from aggtrades import read_trades

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGT_BIN", str(REPO / "build" / "aggtrades"))
NOW = "2024-03-01T12:34:56Z"
SYM, START, END = "BTCUSDT", "2024-02-27 12:30:00.500", "2024-02-27 12:35:00"
WINDOW = ["query", SYM, "--start", START, "--end", END]

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")


def run(root: Path, *args: str, sim: Any = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AGT_ROOT", "AGT_API_URL", "AGT_ARCHIVE_URL")}
    cmd = [BIN, "--root", str(root), "--interval-ms", "0"]
    if sim is not None:
        cmd += ["--api-url", sim.url, "--archive-url", sim.url]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def lake(start_sim_module: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = start_sim_module("--now", NOW, "--weight-limit", "1000000")
    root = tmp_path_factory.mktemp("qout") / "data"
    p = run(root, "download", SYM, "--start", "2024-02-27", "--end", "2024-02-27", sim=sim)
    assert p.returncode == 0, p.stderr
    return root


@pytest.fixture(scope="module")
def want(lake: Path) -> pd.DataFrame:
    df = read_trades(lake, SYM, START, END)
    assert len(df) > 10
    return df


def test_jsonl_one_object_a_line(lake: Path, want: pd.DataFrame, tmp_path: Path) -> None:
    p = run(lake, *WINDOW, "--output", "jsonl")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == len(want) and p.stdout.endswith("}\n")
    rows = [json.loads(line) for line in lines]
    assert list(rows[0]) == ["trade_id", "timestamp", "price", "quantity", "is_buyer_maker"]
    # the same objects as --output json
    j = run(lake, *WINDOW, "--output", "json")
    assert json.loads(j.stdout) == rows
    assert [r["trade_id"] for r in rows] == list(want["trade_id"])
    # what pandas and DuckDB read
    out = tmp_path / "w.jsonl"
    out.write_text(p.stdout)
    df = pd.read_json(out, lines=True, precise_float=True)
    assert list(df["trade_id"]) == list(want["trade_id"])
    assert list(df["price"]) == list(want["price"]) and list(df["quantity"]) == list(want["quantity"])
    # (a connection of its own: the module's default one may hold another test's pending result)
    got = duckdb.connect().sql(f"SELECT count(*), sum(trade_id) FROM read_json('{out}')").fetchall()[0]
    assert got == (len(want), int(want["trade_id"].sum()))
    # --limit, and --stats as one line
    p = run(lake, *WINDOW, "--output", "jsonl", "--limit", "3")
    assert len(p.stdout.splitlines()) == 3
    p = run(lake, *WINDOW, "--output", "jsonl", "--stats")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 1
    assert json.loads(p.stdout)["count"] == len(want)


def test_parquet_file_of_the_window(lake: Path, want: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "slice.parquet"
    p = run(lake, *WINDOW, "--output", "parquet", "--file", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and not list(tmp_path.glob("*.tmp*"))
    f = pq.ParquetFile(out)
    assert {f.metadata.row_group(0).column(i).compression for i in range(5)} == {"ZSTD"}
    meta = f.schema_arrow.metadata
    assert meta[b"aggtrades.symbol"] == SYM.encode()
    t = f.read()
    assert str(t.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    got = t.to_pandas()
    for c in want.columns:
        assert list(got[c]) == list(want[c]), c
    # every engine reads it
    assert duckdb.connect().sql(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0] == len(want)
    assert pl.read_parquet(out)["trade_id"].to_list() == list(want["trade_id"])
    # --limit
    five = tmp_path / "five.parquet"
    assert run(lake, *WINDOW, "--output", "parquet", "--file", str(five), "--limit", "5").returncode == 0
    assert pq.read_table(five).column("trade_id").to_pylist() == list(want["trade_id"][:5])


@pytest.mark.parametrize("args, message", [
    (["--output", "parquet"], "aggtrades: --output parquet needs --file PATH\n"),
    (["--output", "parquet", "--file", "-"], "aggtrades: --output parquet needs --file PATH\n"),
    (["--output", "parquet", "--stats", "--file", "x.parquet"],
     "aggtrades: --stats prints a table, json or jsonl, not parquet\n"),
    (["--output", "xml"], "aggtrades: invalid --output 'xml' (expected table, csv, json, jsonl or parquet)\n"),
    (["--force"], "aggtrades: --force goes with --file PATH\n"),
])
def test_bad_output_usage(lake: Path, tmp_path: Path, args: list[str], message: str) -> None:
    p = subprocess.run([BIN, "--root", str(lake), *WINDOW, *args], capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert (p.returncode, p.stderr, p.stdout) == (2, message, "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_file_is_not_replaced_without_force(lake: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    out.write_text("keep me\n")
    p = run(lake, *WINDOW, "--output", fmt, "--file", str(out))
    assert (p.returncode, p.stderr) == (2, f"aggtrades: '{out}' exists; add --force to replace it\n")
    assert out.read_text() == "keep me\n" and sorted(tmp_path.iterdir()) == [out]
    p = run(lake, *WINDOW, "--output", fmt, "--file", str(out), "--force")
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() != b"keep me\n" and sorted(tmp_path.iterdir()) == [out]
    fresh = tmp_path / "fresh"
    assert run(lake, *WINDOW, "--output", fmt, "--file", str(fresh)).returncode == 0
    assert fresh.read_bytes() == out.read_bytes()


def test_file_that_is_a_directory(lake: Path, tmp_path: Path) -> None:
    for extra in ([], ["--force"]):
        p = run(lake, *WINDOW, "--output", "csv", "--file", str(tmp_path), *extra)
        assert (p.returncode, p.stderr) == (2, f"aggtrades: cannot write '{tmp_path}': it is a directory\n")
    assert list(tmp_path.iterdir()) == [] and not list(tmp_path.parent.glob(f"{tmp_path.name}.tmp*"))
