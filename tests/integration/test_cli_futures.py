"""Spot, USD-M and COIN-M symbols downloaded by the real binary into ONE lake root,
through both sources, with faults: each market equals the simulator's truth, spot
files are exactly those of a spot-only download; per-market verify --repair, update,
the REST history floor, and a writer refusing a folder that is not its market's.
The engines' lines for each market are run by test_engines.py on such a root.

The root downloaded through ``--source auto`` with faults is made once for the module
(``shared``); the tests that change it put it back as it was."""

from __future__ import annotations

import json
import shutil
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


def fresh(sim: Any) -> Any:
    sim.reset()
    sim.control(fault_rate=0, next=[], fault_paths=FAULT_PATHS, archive_truncate={},
                archive_unpublished=[], archive_bad_checksum=[], rest_floor={})
    return sim


@pytest.fixture()
def clean(sim: Any) -> Any:
    return fresh(sim)


@pytest.fixture(scope="module")
def shared(sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ONE root holding the three markets over FIRST..LAST, through --source auto with
    random and queued faults on every market's REST and archive."""
    root = tmp_path_factory.mktemp("futures") / "lake"
    fresh(sim).control(fault_rate=0.08, seed=11,
                       faults=["500json", "503json", "502html", "reset", "truncate", "429"],
                       next=["500json", "reset"])
    for market in ("spot", "um", "cm"):
        download_until_done(sim, root, market, "auto")
    assert sim.stats()["faults_total"] > 2
    fresh(sim)
    return root


def mrun(sim: Any, root: Path, market: str, *args: str) -> Any:
    return run(sim, root, "--market", market, *args)


def lake_rows(root: Path, market: str, symbol: str, last: str = LAST) -> list[tuple]:
    p = run(None, root, "--market", market, "query", symbol, "--start", FIRST, "--end", last,
            "--output", "csv")
    assert p.returncode == 0, p.stderr
    rows = []
    for line in p.stdout.splitlines()[1:]:
        a, t, price, qty, m = line.split(",")
        rows.append((int(a), iso_us(t), float(price), float(qty), m == "true"))
    return rows


def truth_rows(sim: Any, market: str, symbol: str, last: str = LAST) -> list[tuple]:
    start, end = day_us(FIRST), day_us(last) + 86_400_000_000 - 1
    return [(r["a"], r["T"], float(r["p"]), float(r["q"]), bool(r["m"]))
            for r in sim.truth(symbol, start, end, market=market)]


def download_until_done(sim: Any, root: Path, market: str, source: str, last: str = LAST) -> None:
    """download, then `retry` while units are left in .retry (faults may exhaust the
    retries of a unit: that is exit 1 with the unit listed, never a silent loss)."""
    p = mrun(sim, root, market, "download", SYMBOLS[market], "--start", FIRST, "--end", last,
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


def test_three_markets_in_one_lake_with_faults(shared: Path, clean: Any, tmp_path: Path) -> None:
    """--source auto with faults (the shared root): each market equals the truth; spot files
    are exactly those of a spot-only download."""
    import aggtrades

    for market, symbol in SYMBOLS.items():
        got, want = lake_rows(shared, market, symbol), truth_rows(clean, market, symbol)
        assert len(got) == len(want) > 1000
        assert got == want, market
        df = aggtrades.read_trades(shared, symbol, FIRST, LAST, market=market)
        assert df["trade_id"].tolist() == [r[0] for r in want]
    # spot BTCUSDT and USD-M BTCUSDT are different trades, kept apart
    assert lake_rows(shared, "spot", "BTCUSDT") != lake_rows(shared, "um", "BTCUSDT")
    # a second download of each market proves every day complete without a request
    for market in ("spot", "um", "cm"):
        p = mrun(clean, shared, market, "download", SYMBOLS[market], "--start", FIRST, "--end", LAST)
        assert p.returncode == 0 and "2 dates already complete" in p.stderr, p.stderr
    assert clean.stats()["data_requests"] == 0
    # the spot files are exactly those of a spot-only download (rows and statistics)
    alone = tmp_path / "spot-only"
    download_until_done(clean, alone, "spot", "auto")
    assert spot_files(shared) == spot_files(alone)
    assert not (alone / "_futures").exists()
    # no futures data file is named like a spot one (the spot glob would read it)
    assert list((shared / "_futures").rglob("*.parquet")) == []
    assert len(list((shared / "_futures" / "um").rglob("symbol=BTCUSDT/**/*.parq"))) == 48


def test_rest_source_with_faults(clean: Any, tmp_path: Path) -> None:
    """--source rest: every hour of every market by REST pages, with faults (one day)."""
    root = tmp_path / "lake"
    clean.control(fault_rate=0.08, seed=12,
                  faults=["500json", "503json", "502html", "reset", "truncate", "429"],
                  next=["503json", "truncate"])
    for market in ("spot", "um", "cm"):
        download_until_done(clean, root, market, "rest", last=FIRST)
    assert clean.stats()["faults_total"] > 2
    for market, symbol in SYMBOLS.items():
        got, want = lake_rows(root, market, symbol, FIRST), truth_rows(clean, market, symbol, FIRST)
        assert len(got) == len(want) > 500
        assert got == want, market


def test_verify_repair_per_market(shared: Path, clean: Any) -> None:
    cm = shared / "_futures" / "cm"
    f = next(cm.glob("symbol=BTCUSD_PERP/year=2024/month=2/day=27/*_05.parq"))
    f.unlink()
    p = mrun(clean, shared, "cm", "verify", "BTCUSD_PERP", "--start", FIRST, "--end", LAST)
    assert p.returncode == 1 and "missing" in p.stdout + p.stderr
    # spot's verify of the same root does not look into the futures folders
    assert run(None, shared, "verify", "BTCUSDT", "--start", FIRST, "--end", LAST).returncode == 0
    p = mrun(clean, shared, "cm", "verify", "BTCUSD_PERP", "--start", FIRST, "--end", LAST, "--repair")
    assert p.returncode == 0, p.stderr
    assert f.exists()
    assert lake_rows(shared, "cm", "BTCUSD_PERP") == truth_rows(clean, "cm", "BTCUSD_PERP")
    # a file named like a spot hour in a futures folder is foreign: reported, set aside
    stray = f.with_name(f.name[:-len(".parq")] + ".parquet")
    shutil.copy(f, stray)
    p = mrun(clean, shared, "cm", "verify", "BTCUSD_PERP", "--start", FIRST, "--end", LAST)
    assert p.returncode == 1 and "not in the statistics index" in p.stdout, p.stdout
    p = mrun(clean, shared, "cm", "verify", "BTCUSD_PERP", "--start", FIRST, "--end", LAST, "--repair")
    assert p.returncode == 0 and not stray.exists(), p.stderr
    assert list(cm.rglob("*.parquet")) == []


def test_writer_refuses_a_folder_of_another_market(shared: Path, clean: Any, tmp_path: Path) -> None:
    """metadata/_market names a futures folder's market: a writer of another market (or of
    spot pointed at it) is refused, exit 2, nothing written; a futures folder of the layout
    before .parq (no _market, data files .parquet) is refused by writers, read by readers."""
    root = tmp_path / "lake"
    shutil.copytree(shared / "_futures" / "cm", root / "_futures" / "cm")
    cm = root / "_futures" / "cm"
    assert (cm / "metadata" / "_market").read_text() == "cm\n"
    before = tree(root)
    # spot pointed at the COIN-M folder
    p = run(clean, cm, "download", "BTCUSDT", "--start", FIRST, "--end", FIRST)
    assert p.returncode == 2 and "holds the cm market's lake, not spot's" in p.stderr, p.stderr
    # USD-M pointed at it (its root being the futures folder's parent's parent)
    (root / "_futures" / "um").symlink_to(cm)
    p = mrun(clean, root, "um", "download", "BTCUSDT", "--start", FIRST, "--end", FIRST)
    assert p.returncode == 2 and "holds the cm market's lake, not um's" in p.stderr, p.stderr
    (root / "_futures" / "um").unlink()
    assert tree(root) == before
    # the layout before: data files ".parquet", statistics naming them, no _market
    want = lake_rows(root, "cm", "BTCUSD_PERP")
    for f in cm.rglob("*.parq"):
        f.rename(f.with_suffix(".parquet"))
    for j in (cm / "metadata" / "stats").rglob("_*.json"):
        j.write_text(j.read_text().replace('.parq"', '.parquet"'))
    (cm / "metadata" / "_market").unlink()
    before = tree(root)
    p = mrun(clean, root, "cm", "download", "BTCUSD_PERP", "--start", FIRST, "--end", LAST)
    assert p.returncode == 2 and "earlier layout" in p.stderr and "move it aside" in p.stderr, p.stderr
    assert tree(root) == before
    assert lake_rows(root, "cm", "BTCUSD_PERP") == want      # readers open it as it is


def test_futures_hour_below_the_rest_floor_is_not_complete(clean: Any, tmp_path: Path) -> None:
    """USD-M REST forgets BTCUSDT before 04:00 of FIRST: hours 00-04 cannot be proven by
    REST (04:00's first trade has no served trade before it). --source rest: none of them
    is called complete, all in the market's .retry, exit 1; retry and --source auto fill
    them from the archive, proven by its files."""
    clean.control(rest_floor={"um/BTCUSDT": FIRST + "T04:00:00Z"})
    root = tmp_path / "lake"
    p = mrun(clean, root, "um", "download", "BTCUSDT", "--start", FIRST, "--end", FIRST,
             "--source", "rest", "--no-progress")
    assert p.returncode == 1, p.stderr
    ledger = root / "_futures" / "um" / ".retry"
    units = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert sorted(u["hour"] for u in units) == [0, 1, 2, 3, 4]
    assert all(u["error"].startswith("not proven complete") for u in units), units[0]
    assert not (root / ".retry").exists()                   # spot's ledger: untouched
    v = mrun(None, root, "um", "verify", "BTCUSDT", "--start", FIRST, "--end", FIRST)
    assert v.returncode == 1 and "04:00" in v.stdout, v.stdout
    p = mrun(clean, root, "um", "retry", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert not ledger.exists()
    assert lake_rows(root, "um", "BTCUSDT", FIRST) == truth_rows(clean, "um", "BTCUSDT", FIRST)
    # --source auto on a root of its own: the archive day, proven without REST's word
    auto = tmp_path / "auto"
    p = mrun(clean, auto, "um", "download", "BTCUSDT", "--start", FIRST, "--end", FIRST,
             "--no-progress")
    assert p.returncode == 0, p.stderr
    assert lake_rows(auto, "um", "BTCUSDT", FIRST) == truth_rows(clean, "um", "BTCUSDT", FIRST)


def test_retry_without_market_runs_every_markets_ledger(clean: Any, tmp_path: Path) -> None:
    """Each market keeps its own .retry; `retry` without --market runs every one of them,
    `--market M retry` that market's only."""
    root = tmp_path / "lake"
    hours = {"spot": 3, "um": 4, "cm": 5}
    ledgers = {m: (root / "_futures" / m if m != "spot" else root) / ".retry" for m in hours}
    for market, hour in hours.items():
        # a lake holding FIRST, whose ledger lists an hour of LAST that failed
        p = mrun(clean, root, market, "download", SYMBOLS[market], "--start", FIRST, "--end",
                 FIRST, "--no-progress")
        assert p.returncode == 0, p.stderr
        ledgers[market].write_text(json.dumps({
            "symbol": SYMBOLS[market], "date": LAST, "hour": hour, "error": "earlier",
            "attempts": 1, "time": "2024-03-01T00:00:00Z"}) + "\n")

    def hour_rows(market: str, hour: int) -> tuple[list[int], list[int]]:
        start = f"{LAST} {hour:02d}:00"
        p = run(None, root, "--market", market, "query", SYMBOLS[market], "--start", start,
                "--end", f"{LAST} {hour:02d}:59:59.999999", "--output", "csv")
        got = [int(line.split(",")[0]) for line in p.stdout.splitlines()[1:]]
        s = day_us(LAST) + hour * 3_600_000_000
        want = [t["a"] for t in clean.truth(SYMBOLS[market], s, s + 3_599_999_999, market=market)]
        return got, want

    p = mrun(clean, root, "cm", "retry", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert not ledgers["cm"].exists() and ledgers["spot"].exists() and ledgers["um"].exists()
    p = run(clean, root, "retry", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert "_futures/um" in p.stderr and "_futures/cm" not in p.stderr, p.stderr
    for market, hour in hours.items():
        assert not ledgers[market].exists(), market
        got, want = hour_rows(market, hour)
        assert got == want and len(want) > 10, market
    p = run(clean, root, "retry")
    assert p.returncode == 0 and "nothing to retry" in p.stdout, p.stdout + p.stderr


def test_update_per_market(shared: Path, clean: Any) -> None:
    # last: it extends the shared root's COIN-M symbol up to the simulator's clock
    p = mrun(clean, shared, "cm", "update", "BTCUSD_PERP", "--no-progress")
    assert p.returncode == 0, p.stderr
    s = mrun(clean, shared, "cm", "query", "BTCUSD_PERP", "--start", FIRST, "--end", "2024-03-01",
             "--stats")
    assert s.returncode == 0 and "trades" in s.stdout
    assert lake_rows(shared, "cm", "BTCUSD_PERP", "2024-02-29") == \
        truth_rows(clean, "cm", "BTCUSD_PERP", "2024-02-29")
    assert not (shared / "symbol=BTCUSD_PERP").exists()     # nothing of it in spot's folders


def test_bad_market_is_refused_and_writes_nothing(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    p = mrun(clean, root, "usdm", "download", "BTCUSDT", "--start", FIRST, "--end", FIRST)
    assert p.returncode == 2 and "invalid --market 'usdm' (expected spot, um or cm)" in p.stderr
    assert tree(root) == {}
    p = mrun(clean, root, "spot", "download", "BTCUSD_PERP", "--start", FIRST, "--end", FIRST)
    assert p.returncode == 2, p.stderr            # not a spot symbol: the exchange says so


def test_python_download_per_market(clean: Any, tmp_path: Path) -> None:
    """aggtrades.download(market=...) is the same engine: same folder, same rows."""
    import aggtrades

    root = tmp_path / "lake"
    rep = aggtrades.download(root, "btcusd_perp", FIRST, FIRST, market="cm", api_url=clean.url,
                             archive_url=clean.url, interval_ms=0, progress=lambda ev: None)
    assert rep.status == "AGT_OK" and rep.units_failed == 0
    assert (root / "_futures" / "cm" / "symbol=BTCUSD_PERP").is_dir()
    assert not (root / "symbol=BTCUSD_PERP").exists()
    assert lake_rows(root, "cm", "BTCUSD_PERP", FIRST) == truth_rows(clean, "cm", "BTCUSD_PERP", FIRST)
    with pytest.raises(aggtrades.LakeError):
        aggtrades.download(root, "BTCUSDT", FIRST, LAST, market="usdm", api_url=clean.url)


@pytest.mark.parametrize("market,symbol", [("cm", "BTCUSD_240628")])
def test_whole_month_from_the_monthly_file(clean: Any, tmp_path: Path, market: str,
                                           symbol: str) -> None:
    """A month needed whole: one monthly zip (and its checksum) instead of 31 daily ones,
    the same rows and proofs (Python, monthly=True, the default); the tool's --no-monthly
    (Python's monthly=False) keeps to the daily files: the same lake."""
    import aggtrades

    def archive_paths() -> list[str]:
        return [p for p in clean.stats()["requests"] if p.startswith("/data/")]

    start = "2024-01-01"
    for monthly, root in ((True, tmp_path / "m"), (False, tmp_path / "d")):
        clean.reset()
        if monthly:
            rep = aggtrades.download(root, symbol, start, "2024-01-31", market=market,
                                     api_url=clean.url, archive_url=clean.url, interval_ms=0,
                                     progress=lambda ev: None)
            assert rep.status == "AGT_OK" and rep.units_failed == 0
        else:
            p = mrun(clean, root, market, "download", symbol, "--start", start, "--end",
                     "2024-01-31", "--no-monthly", "--no-progress")
            assert p.returncode == 0, p.stderr
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
    """Rows of every data file of a futures market's root."""
    return {str(f.relative_to(root)): pq.read_table(f).to_pylist()
            for f in sorted(root.rglob("symbol=*/**/*.parq"))}
