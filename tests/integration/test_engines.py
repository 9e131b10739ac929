"""Every engine opens the lake root the obvious way and sees each trade once.

The lake is made by the real binary against the simulator: ``download`` of two
symbols, then one stored hour committed again with other prices and
``update --force`` (so the change feed holds inserts and update images), then
the hidden names a commit in flight or a crash leaves planted (a temporary
of garbage, a previous version of a data file, a change file being written):
no engine may see them.

Every Python block of docs/engines.md is run as written, with the lake as
``./data``; what it returns (``trades``, ``window``, ``changes``) is compared
with ``aggtrades.read_trades`` / ``read_changes``: row counts, distinct ids,
sums, partition column types. The reads of issue "the whole lake opens in
every engine" are all among them: DuckDB's glob with and without
hive_partitioning, polars' glob, pyarrow's and pandas' directory, Spark's
directory (one Spark session for the module).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from aggtrades import read_changes, read_trades
from test_lake import Writer

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGT_BIN", str(REPO / "build" / "aggtrades"))
DOC = REPO / "docs" / "engines.md"
NOW = "2024-03-01T12:34:56Z"
SYMBOLS = ("BTCUSDT", "ETHBTC")
WINDOW = ("BTCUSDT", "2024-02-06 12:30:00.500", "2024-02-06 12:35:00")
TAMPERED = Path("symbol=ETHBTC/year=2024/month=2/day=5/ETHBTC_20240205_03.parquet")
# each futures market stored beside spot: (the name its doc blocks give its trades, symbol)
FUTURES = {"um": ("usdm", "BTCUSDT"), "cm": ("coinm", "BTCUSD_PERP")}

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")


def run(sim: Any, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AGT_ROOT", "AGT_API_URL", "AGT_ARCHIVE_URL", "NO_COLOR")}
    cmd = [BIN, "--root", str(root), "--interval-ms", "0", "--api-url", sim.url,
           "--archive-url", sim.url]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def lake(start_sim_module: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = start_sim_module("--now", NOW, "--weight-limit", "1000000",
                           "--futures-weight-limit", "1000000")
    home = tmp_path_factory.mktemp("engines")
    root = home / "data"
    p = run(sim, root, "download", *SYMBOLS, "--start", "2024-02-05", "--end", "2024-02-06")
    assert p.returncode == 0, p.stderr
    # the futures markets of the same days in the same root: no spot line may see them
    for market, (_, symbol) in FUTURES.items():
        p = run(sim, root, "--market", market, "download", symbol, "--start", "2024-02-05",
                "--end", "2024-02-06")
        assert p.returncode == 0, p.stderr
    # an hour committed with other prices (through the lake: a commit of its own), which
    # update --force puts back: two commits of real updates, before and after images
    t = pq.read_table(root / TAMPERED)
    w = Writer(root)
    us = pc.cast(t.column("timestamp"), pa.int64()).to_pylist()
    w.commit("ETHBTC", us[0] // 3_600_000_000 * 3_600_000_000,
             [(i, u, 2 * p, q, b) for i, u, p, q, b in zip(t.column("trade_id").to_pylist(), us,
                                                         t.column("price").to_pylist(),
                                                         t.column("quantity").to_pylist(),
                                                         t.column("is_buyer_maker").to_pylist())])
    w.close()
    p = run(sim, root, "update", "ETHBTC", "--force")
    assert p.returncode == 0, p.stderr
    assert f", {t.num_rows:,} updated" in p.stdout
    # what a commit in flight or a crash leaves beside the files: never data
    hour = root / TAMPERED
    (hour.parent / f".{hour.name}.tmp").write_bytes(b"PAR1 half-written")
    os.link(hour, hour.parent / f".{hour.name}.prev")
    feed = root / "metadata" / "_changes" / "symbol=ETHBTC"
    shutil.copy(next(feed.iterdir()), feed / ".v00000000000000999999.pq.tmp")
    return root


@pytest.fixture(scope="module")
def spark(lake: Path) -> Any:
    from pyspark.sql import SparkSession
    # Spark resolves relative paths against its JVM's working directory: start it in the
    # lake's parent, so that "data" is the lake as on the page
    cwd = os.getcwd()
    os.chdir(lake.parent)
    try:
        s = (SparkSession.builder.master("local[1]").appName("aggtrades-engines")
         .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    finally:
        os.chdir(cwd)
    s.sparkContext.setLogLevel("ERROR")
    # ... unless the JVM of an earlier module's session lives on (one JVM per Python process,
    # started wherever the first session was): a relative path resolves against the working
    # directory of its local file system, so point that at the lake's parent too
    jvm = s._jvm
    local = jvm.org.apache.hadoop.fs.FileSystem.getLocal(s._jsc.hadoopConfiguration())
    local.setWorkingDirectory(jvm.org.apache.hadoop.fs.Path(str(lake.parent)))
    yield s
    s.stop()


# --------------------------------------------------------------------------
# what read_trades / read_changes say


def truth(lake: Path, symbol: str | None = None, start: Any = 0, end: Any = 2**62) -> pd.DataFrame:
    frames = [read_trades(lake, s, start, end).assign(symbol=s) for s in ([symbol] if symbol else SYMBOLS)]
    return pd.concat(frames, ignore_index=True)


def figures(df: pd.DataFrame) -> dict[str, Any]:
    out = {"rows": len(df), "ids": int(df["trade_id"].nunique()), "id_sum": int(df["trade_id"].sum()),
           "qty": float(df["quantity"].sum()), "price_qty": float((df["price"] * df["quantity"]).sum())}
    if "symbol" in df:
        out["per_symbol"] = {str(k): int(v) for k, v in df.groupby(df["symbol"].astype(str)).size().items()}
    return out


def same(got: dict[str, Any], want: dict[str, Any]) -> None:
    for k, v in want.items():
        if k not in got:
            continue
        if isinstance(v, float):
            assert math.isclose(got[k], v, rel_tol=1e-12), (k, got[k], v)
        else:
            assert got[k] == v, (k, got[k], v)


# --------------------------------------------------------------------------
# the blocks of docs/engines.md


def doc_blocks() -> list[tuple[str, str]]:
    """(section title, code) of every python block, in order."""
    text = DOC.read_text()
    out, section = [], ""
    for m in re.finditer(r"^## ([^\n]+)$|^```python\n(.*?)^```", text, re.M | re.S):
        if m.group(1):
            section = m.group(1).strip()
        else:
            out.append((section, m.group(2)))
    return out


RESULTS = ("trades", "window", "changes", "references") + tuple(v for v, _ in FUTURES.values())


def run_block(code: str, lake: Path, spark: Any = None) -> dict[str, Any]:
    """Run a block with the lake as ./data; its results as pandas frames (Spark's as they are)."""
    ns: dict[str, Any] = {"spark": spark} if spark is not None else {}
    cwd = os.getcwd()
    os.chdir(lake.parent)
    try:
        exec(compile(code, str(DOC), "exec"), ns)
        return {k: ns[k] if spark is not None else as_pandas(ns[k]) for k in RESULTS if k in ns}
    finally:
        os.chdir(cwd)


def as_pandas(x: Any) -> pd.DataFrame:
    """The rows of any engine's result (Spark's are aggregated by spark_figures)."""
    name = type(x).__module__.split(".")[0]
    if name == "duckdb":
        return x.to_arrow_table().to_pandas()
    if name == "polars":
        return (x.collect() if hasattr(x, "collect") else x).to_pandas()
    if name == "pyarrow":
        return (x.to_table() if hasattr(x, "to_table") else x).to_pandas()
    assert isinstance(x, pd.DataFrame), type(x)
    return x


def spark_figures(df: Any) -> dict[str, Any]:
    from pyspark.sql import functions as F
    r = df.agg(F.count("*"), F.countDistinct("trade_id"), F.sum("trade_id"), F.sum("quantity"),
               F.sum(F.col("price") * F.col("quantity"))).collect()[0]
    per = {row["symbol"]: row["count"] for row in df.groupBy("symbol").count().collect()}
    return {"rows": r[0], "ids": r[1], "id_sum": int(r[2] or 0), "qty": float(r[3] or 0),
            "price_qty": float(r[4] or 0), "per_symbol": per}


def check_types(df: pd.DataFrame, partitioned: bool) -> None:
    ts = df["timestamp"].dtype
    # an instant: UTC (DuckDB names its session zone, "Etc/UTC" here: the same instant)
    assert isinstance(ts, pd.DatetimeTZDtype) and str(ts.tz) in ("UTC", "Etc/UTC"), ts
    assert df["trade_id"].dtype == "int64" and df["is_buyer_maker"].dtype == bool
    if not partitioned and "symbol" not in df:  # DuckDB 1.1+ detects hive partitions itself
        return
    sym = df["symbol"].dtype
    assert pd.api.types.is_string_dtype(sym.categories if isinstance(sym, pd.CategoricalDtype) else sym)
    for c in ("year", "month", "day"):
        t = df[c].dtype
        t = t.categories.dtype if isinstance(t, pd.CategoricalDtype) else t
        assert pd.api.types.is_integer_dtype(t), (c, t)


SECTIONS = ("DuckDB", "polars", "pyarrow", "pandas")


def test_doc_has_every_engine() -> None:
    titles = [s for s, _ in doc_blocks()]
    for s in SECTIONS + ("PySpark", "The change feed", "Futures markets"):
        assert s in titles, s
    # every block of an engine opens the whole lake as `trades`; each futures block opens
    # both futures markets
    for s, code in doc_blocks():
        if s == "Futures markets":
            assert all(re.search(rf"^{v} = ", code, re.M) for v, _ in FUTURES.values()), code
        elif s != "The change feed":
            assert re.search(r"^trades = ", code, re.M), (s, code)
    # DuckDB, polars, pyarrow, pandas, Spark, aggtrades
    assert sum(s == "Futures markets" for s, _ in doc_blocks()) == 6


@pytest.mark.parametrize("k", [k for k, (s, _) in enumerate(doc_blocks()) if s in SECTIONS])
def test_doc_block(lake: Path, k: int) -> None:
    section, code = doc_blocks()[k]
    ns = run_block(code, lake)
    trades = ns["trades"]
    check_types(trades, partitioned=not (section == "DuckDB" and "hive_partitioning" not in code))
    same(figures(trades), figures(truth(lake)))
    if "window" in ns:
        window = ns["window"]
        want = truth(lake, *WINDOW)
        assert len(want) > 10
        same(figures(window), figures(want))
        assert sorted(window["trade_id"]) == list(want["trade_id"])


def test_doc_spark(lake: Path, spark: Any) -> None:
    (code,) = [c for s, c in doc_blocks() if s == "PySpark"]
    ns = run_block(code, lake, spark)
    schema = {f.name: f.dataType.simpleString() for f in ns["trades"].schema.fields}
    assert schema["symbol"] == "string" and schema["timestamp"] == "timestamp"
    assert schema["year"] == schema["month"] == schema["day"] == "int"
    same(spark_figures(ns["trades"]), figures(truth(lake)))
    want = truth(lake, *WINDOW)
    same(spark_figures(ns["window"]), figures(want))
    assert sorted(r[0] for r in ns["window"].select("trade_id").collect()) == list(want["trade_id"])
    # the partition filter is pushed to the file listing (pruning), not applied to rows
    plan = ns["window"]._jdf.queryExecution().executedPlan().toString()
    assert re.search(r"PartitionFilters: \[[^\]]*symbol", plan), plan
    # the first row is the instant the lake holds, read back in UTC
    first = ns["window"].orderBy("trade_id").first()
    assert first["timestamp"].replace(tzinfo=dt.timezone.utc) == want["timestamp"].iloc[0].to_pydatetime()


def test_window_matches_the_cli(lake: Path, tmp_path: Path) -> None:
    p = subprocess.run([BIN, "--root", str(lake), "query", WINDOW[0], "--start", WINDOW[1], "--end", WINDOW[2],
                        "--output", "csv"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    ids = [int(line.split(",")[0]) for line in p.stdout.splitlines()[1:]]
    assert ids == list(truth(lake, *WINDOW)["trade_id"])


def test_pruning_by_partition(lake: Path) -> None:
    import pyarrow.dataset as ds
    d = ds.dataset(lake, partitioning="hive")
    day = (ds.field("symbol") == "BTCUSDT") & (ds.field("year") == 2024) & (ds.field("month") == 2) & \
        (ds.field("day") == 6)
    hours = sorted((lake / "symbol=BTCUSDT/year=2024/month=2/day=6").glob("BTCUSDT_*.parquet"))
    got = sorted(Path(f.path) for f in d.get_fragments(filter=day))
    assert len(hours) > 12 and got == hours  # that day's hour files (an empty hour has none), nothing else


def test_change_feed_blocks(lake: Path) -> None:
    """The rows the change files hold, as each engine reads them, are read_changes' rows but
    the inserts recorded by reference (named by each file's key-value metadata)."""
    want = pd.concat([read_changes(lake, s).assign(symbol=s) for s in SYMBOLS], ignore_index=True)
    kinds = want["_change_type"].value_counts().to_dict()
    assert kinds.get("update_preimage", 0) == kinds.get("update_postimage", 0) > 0
    assert kinds["insert"] == len(truth(lake))  # every stored trade was inserted once
    refs = {}
    for p in (lake / "metadata" / "_changes").glob("*/*.pq"):
        md = pq.read_metadata(p).metadata
        if b"aggtrades.insert_ranges" in md:
            refs[int(md[b"aggtrades.commit_version"])] = md[b"aggtrades.insert_ranges"].decode()
    assert refs  # a fresh hour's inserts are references

    def referred(r: pd.Series) -> bool:
        runs = refs.get(r["_commit_version"], "")
        return r["_change_type"] == "insert" and any(
            int(a) <= r["trade_id"] <= int(b) for a, b in (x.split("-") for x in runs.split(",") if x))

    held = want[~want.apply(referred, axis=1)]
    key = ["symbol", "_commit_version", "trade_id", "_change_type"]
    want_rows = held[key].astype({"symbol": str}).sort_values(key).reset_index(drop=True)
    blocks = [c for s, c in doc_blocks() if s == "The change feed"]
    assert len(blocks) == 3
    for code in blocks:
        ns = run_block(code, lake)
        got = ns["changes"]
        assert str(got["_commit_timestamp"].dtype.tz) in ("UTC", "Etc/UTC")
        got_rows = got[key].astype({"symbol": str}).sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(got_rows, want_rows, check_dtype=False)
        assert math.isclose(got["price"].sum(), held["price"].sum(), rel_tol=1e-12)
        if "references" in ns:
            assert len(ns["references"]) == len(refs)


# --------------------------------------------------------------------------
# futures markets stored in the same root


def futures_truth(lake: Path, market: str) -> pd.DataFrame:
    symbol = FUTURES[market][1]
    return read_trades(lake, symbol, 0, 2**62, market=market).assign(symbol=symbol)


@pytest.mark.parametrize("k", [k for k, (s, _) in enumerate(doc_blocks()) if s == "Futures markets"])
def test_doc_futures_block(lake: Path, request: pytest.FixtureRequest, k: int) -> None:
    """Each futures line gives exactly its market's trades (never spot's, never the other
    market's, never change-feed rows)."""
    code = doc_blocks()[k][1]
    spark = request.getfixturevalue("spark") if "spark." in code else None
    ns = run_block(code, lake, spark)
    for market, (var, symbol) in FUTURES.items():
        want = futures_truth(lake, market)
        assert len(want) > 1000
        # a spot symbol of the same name holds other trades
        if symbol in SYMBOLS:
            assert figures(truth(lake, symbol)) != figures(want)
        if spark is not None:
            same(spark_figures(ns[var]), figures(want))
            continue
        got = ns[var]
        if "symbol" not in got:  # aggtrades.read_trades: one symbol, no partition column
            got = got.assign(symbol=symbol)
        else:
            check_types(got, partitioned=True)
        same(figures(got), figures(want))
        assert sorted(got["trade_id"]) == list(want["trade_id"])


def test_each_glob_lists_exactly_its_markets_data_files(lake: Path) -> None:
    """As DuckDB expands them (polars expands the same way, hidden names included): the
    spot glob lists the spot hour files only, each futures glob its market's only (no
    change file, no temporary, nothing of the other markets)."""
    import duckdb
    con = duckdb.connect()

    def expanded(pattern: str) -> set[Path]:
        return {Path(r[0]) for r in con.execute("SELECT file FROM glob(?)", [pattern]).fetchall()}

    def hour_files(root: Path, ext: str) -> set[Path]:
        return {f for f in root.glob(f"symbol=*/year=*/month=*/day=*/*{ext}")
                if not f.name.startswith(".")}

    spot = hour_files(lake, ".parquet")
    assert len(spot) > 40 and expanded(f"{lake}/**/*.parquet") == spot
    for market in FUTURES:
        sub = lake / "_futures" / market
        files = hour_files(sub, ".parq")
        assert len(files) > 40 and expanded(f"{sub}/**/*.parq") == files
        assert list(sub.rglob("*.parquet")) == []
        assert list((sub / "metadata" / "_changes").rglob("*.pq"))  # its change feed is there
        assert (sub / "metadata" / "_market").read_text() == f"{market}\n"
    assert not (lake / "metadata" / "_market").exists()  # spot's layout is unchanged
