"""Spot, USD-M and COIN-M symbols downloaded by the real binary into ONE lake root,
through both sources, with faults: each market equals the simulator's truth, spot
files are exactly those of a spot-only download, and each market opens in the
engines with its one documented line (docs/futures.md, "In the lake")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from test_cli import BIN, NOW, child_env, day_us, iso_us, run, tree  # noqa: F401

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")

FIRST, LAST = "2024-02-26", "2024-02-27"
SYMBOLS = {"spot": "BTCUSDT", "um": "BTCUSDT", "cm": "BTCUSD_PERP"}
FAULT_PATHS = ["/api/v3/aggTrades", "/fapi/v1/aggTrades", "/dapi/v1/aggTrades", "/data/"]


@pytest.fixture(scope="module")
def sim(start_sim_module: Any) -> Any:
    return start_sim_module("--now", NOW, "--weight-limit", "1000000",
                            "--futures-weight-limit", "1000000")


@pytest.fixture()
def clean(sim: Any) -> Any:
    sim.reset()
    sim.control(fault_rate=0, next=[], fault_paths=FAULT_PATHS, archive_truncate={},
                archive_unpublished=[], archive_bad_checksum=[])
    return sim


def mrun(sim: Any, root: Path, market: str, *args: str) -> Any:
    return run(sim, root, "--market", market, *args)


def lake_rows(root: Path, market: str, symbol: str) -> list[tuple]:
    p = run(None, root, "--market", market, "query", symbol, "--start", FIRST, "--end", LAST,
            "--output", "csv")
    assert p.returncode == 0, p.stderr
    rows = []
    for line in p.stdout.splitlines()[1:]:
        a, t, price, qty, m = line.split(",")
        rows.append((int(a), iso_us(t), float(price), float(qty), m == "true"))
    return rows


def truth_rows(sim: Any, market: str, symbol: str) -> list[tuple]:
    start, end = day_us(FIRST), day_us(LAST) + 86_400_000_000 - 1
    return [(r["a"], r["T"], float(r["p"]), float(r["q"]), bool(r["m"]))
            for r in sim.truth(symbol, start, end, market=market)]


def download_until_done(sim: Any, root: Path, market: str, source: str) -> None:
    """download, then `retry` while units are left in .retry (faults may exhaust the
    retries of a unit: that is exit 1 with the unit listed, never a silent loss)."""
    p = mrun(sim, root, market, "download", SYMBOLS[market], "--start", FIRST, "--end", LAST,
             "--source", source, "--no-progress")
    assert p.returncode in (0, 1), p.stderr
    for _ in range(5):
        if p.returncode == 0:
            break
        assert ".retry" in p.stderr
        p = mrun(sim, root, market, "retry", "--no-progress")
        assert p.returncode in (0, 1), p.stderr
    assert p.returncode == 0, p.stderr


def spot_files(root: Path) -> dict[str, Any]:
    """Every spot Parquet file under root (never under _futures): rows and the
    column statistics of each row group."""
    out = {}
    for f in sorted(root.glob("symbol=*/**/*.parquet")):
        meta = pq.ParquetFile(f).metadata
        stats = [[(meta.row_group(g).column(c).statistics.min, meta.row_group(g).column(c).statistics.max,
                   meta.row_group(g).column(c).statistics.null_count)
                  for c in range(meta.num_columns)] for g in range(meta.num_row_groups)]
        out[str(f.relative_to(root))] = (pq.read_table(f).to_pylist(), stats)
    return out


@pytest.mark.parametrize("source", ["auto", "rest"])
def test_three_markets_in_one_lake_with_faults(clean: Any, tmp_path: Path, source: str) -> None:
    root = tmp_path / "lake"
    clean.control(fault_rate=0.08, seed=11,
                  faults=["500json", "503json", "502html", "reset", "truncate", "429"],
                  next=["500json", "reset"])
    for market in ("spot", "um", "cm"):
        download_until_done(clean, root, market, source)
    assert clean.stats()["faults_total"] > 2
    for market, symbol in SYMBOLS.items():
        got, want = lake_rows(root, market, symbol), truth_rows(clean, market, symbol)
        assert len(got) == len(want) > 1000
        assert got == want, market
    # spot BTCUSDT and USD-M BTCUSDT are different trades, kept apart
    assert lake_rows(root, "spot", "BTCUSDT") != lake_rows(root, "um", "BTCUSDT")
    # a second download of each market proves every day complete without a request
    clean.control(fault_rate=0, next=[], reset_counters=True)
    for market in ("spot", "um", "cm"):
        p = mrun(clean, root, market, "download", SYMBOLS[market], "--start", FIRST, "--end", LAST)
        assert p.returncode == 0 and "2 dates already complete" in p.stderr, p.stderr
    assert clean.stats()["data_requests"] == 0
    # the spot files are exactly those of a spot-only download (rows and statistics)
    alone = tmp_path / "spot-only"
    download_until_done(clean, alone, "spot", source)
    assert spot_files(root) == spot_files(alone)
    assert not (alone / "_futures").exists()


def test_engines_open_each_market_with_one_line(clean: Any, tmp_path: Path) -> None:
    import duckdb
    import polars as pl

    root = tmp_path / "lake"
    for market in ("spot", "um", "cm"):
        download_until_done(clean, root, market, "auto")
    counts = {m: len(truth_rows(clean, m, s)) for m, s in SYMBOLS.items()}
    # pyarrow (and pandas, Spark) list the root and skip '_futures': spot only
    assert ds.dataset(root, partitioning="hive").count_rows() == counts["spot"]
    for market in ("um", "cm"):
        sub = root / "_futures" / market
        assert ds.dataset(sub, partitioning="hive").count_rows() == counts[market]
        n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{sub}/symbol=*/**/*.parquet', "
                       "hive_partitioning=true)").fetchall()[0][0]
        assert n == counts[market]
        df = pl.scan_parquet(f"{sub}/symbol=*/**/*.parquet", hive_partitioning=True).collect()
        assert df.height == counts[market]
        assert set(df["symbol"].to_list()) == {SYMBOLS[market]}
    # the Python binding: market= on every reader
    import aggtrades
    from aggtrades.lake import market_root
    for market, symbol in SYMBOLS.items():
        df = aggtrades.read_trades(root, symbol, FIRST, LAST, market=market)
        assert len(df) == counts[market]
        assert df["trade_id"].tolist() == [r[0] for r in truth_rows(clean, market, symbol)]
    assert market_root(root, "um") == str(root / "_futures" / "um")
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{root}/symbol=*/**/*.parquet', "
                   "hive_partitioning=true)").fetchall()[0][0]
    assert n == counts["spot"]


def test_update_verify_status_per_market(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    download_until_done(clean, root, "cm", "rest")
    f = next((root / "_futures" / "cm").glob("symbol=BTCUSD_PERP/year=2024/month=2/day=27/*_05.parquet"))
    f.unlink()
    p = mrun(clean, root, "cm", "verify", "BTCUSD_PERP", "--start", FIRST, "--end", LAST)
    assert p.returncode == 1 and "missing" in p.stdout + p.stderr
    p = mrun(clean, root, "cm", "verify", "BTCUSD_PERP", "--start", FIRST, "--end", LAST, "--repair")
    assert p.returncode == 0, p.stderr
    assert lake_rows(root, "cm", "BTCUSD_PERP") == truth_rows(clean, "cm", "BTCUSD_PERP")
    # the spot lake of the same root is untouched and still empty
    assert run(None, root, "query", "BTCUSDT", "--start", FIRST, "--end", LAST, "--stats").returncode == 0
    p = mrun(clean, root, "cm", "update", "BTCUSD_PERP", "--no-progress")
    assert p.returncode == 0, p.stderr
    s = mrun(clean, root, "cm", "query", "BTCUSD_PERP", "--start", FIRST, "--end", "2024-03-01",
             "--stats")
    assert s.returncode == 0 and "trades" in s.stdout


def test_bad_market_is_refused_and_writes_nothing(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    p = mrun(clean, root, "usdm", "download", "BTCUSDT", "--start", FIRST, "--end", FIRST)
    assert p.returncode == 2 and "unknown market 'usdm'" in p.stderr
    assert tree(root) == {}
    p = mrun(clean, root, "spot", "download", "BTCUSD_PERP", "--start", FIRST, "--end", FIRST)
    assert p.returncode == 2, p.stderr            # not a spot symbol: the exchange says so


def test_python_download_per_market(clean: Any, tmp_path: Path) -> None:
    """aggtrades.download(market=...) is the same engine: same folder, same rows."""
    import aggtrades

    root = tmp_path / "lake"
    rep = aggtrades.download(root, "btcusd_perp", FIRST, LAST, market="cm", api_url=clean.url,
                             archive_url=clean.url, interval_ms=0, progress=lambda ev: None)
    assert rep.status == "AGT_OK" and rep.units_failed == 0
    assert (root / "_futures" / "cm" / "symbol=BTCUSD_PERP").is_dir()
    assert not (root / "symbol=BTCUSD_PERP").exists()
    assert lake_rows(root, "cm", "BTCUSD_PERP") == truth_rows(clean, "cm", "BTCUSD_PERP")
    with pytest.raises(aggtrades.LakeError):
        aggtrades.download(root, "BTCUSDT", FIRST, LAST, market="usdm", api_url=clean.url)


@pytest.mark.parametrize("market,symbol", [("cm", "BTCUSD_240628")])
def test_whole_month_from_the_monthly_file(clean: Any, tmp_path: Path, market: str,
                                           symbol: str) -> None:
    """A month needed whole: one monthly zip (and its checksum) instead of 31 daily ones,
    the same rows and proofs; with monthly=False the daily files, same lake."""
    import aggtrades

    def archive_paths() -> list[str]:
        return [p for p in clean.stats()["requests"] if p.startswith("/data/")]

    start = "2024-01-01"
    for monthly, root in ((True, tmp_path / "m"), (False, tmp_path / "d")):
        clean.reset()
        rep = aggtrades.download(root, symbol, start, "2024-01-31", market=market,
                                 api_url=clean.url, archive_url=clean.url, interval_ms=0,
                                 monthly=monthly, progress=lambda ev: None)
        assert rep.status == "AGT_OK" and rep.units_failed == 0
        paths = archive_paths()
        assert (len(paths) == 2 and all("/monthly/" in p for p in paths)) if monthly \
            else (len(paths) == 62 and all("/daily/" in p for p in paths))
        got = aggtrades.read_trades(root, symbol, start, "2024-01-31", market=market)
        want = clean.truth(symbol, bs_us(start), bs_us("2024-02-01") - 1, market=market)
        assert got["trade_id"].tolist() == [t["a"] for t in want]
    assert spot_like_files(tmp_path / "m") == spot_like_files(tmp_path / "d")


def bs_us(day: str) -> int:
    return day_us(day)


def spot_like_files(root: Path) -> dict[str, Any]:
    """Rows of every data file under root, any market."""
    return {str(f.relative_to(root)): pq.read_table(f).to_pylist()
            for f in sorted(root.rglob("symbol=*/**/*.parquet"))}
