"""The day source through the CLI: ``--source auto|rest|archive`` of ``download``,
``update`` and ``verify --repair`` (``retry`` runs single hours: always rest).

Whole missing days older than the exchange's yesterday come from the daily archive,
proved complete with two small REST requests each (the trades just before and after
the file's ids); what cannot be proved goes to REST hour by hour.  Every test checks
the lake against the simulator's truth and the per-hour source and completeness in
the statistics index.  Archive faults are injected through ``/_control``:
``archive_truncate`` (a file cut short with a matching checksum, like 2021-12-14),
``archive_bad_checksum`` and ``archive_unpublished``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from test_cli import (BIN, NOW, assert_lake_equals_truth, data_requests, iso_us, lake_rows,
                      run, sim, truth_rows)

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")

SYM = "BTCUSDT"
assert sim  # the module's simulator: test_cli's fixture (clock frozen at 2024-03-01 12:34:56)


@pytest.fixture()
def clean(sim: Any) -> Any:
    sim.reset()
    sim.control(weight_limit=1000000, archive_truncate={}, archive_bad_checksum=[],
                archive_unpublished=[], now=NOW)
    return sim


def download(sim: Any, root: Path, first: str, last: str, *extra: str,
             symbol: str = SYM) -> Any:
    return run(sim, root, "--archive-url", sim.url, "--no-progress", "download", symbol,
               "--start", first, "--end", last, *extra)


def hours(root: Path, symbol: str, day: str) -> list[dict[str, Any]]:
    """The statistics of the day's stored hours, in hour order."""
    path = root / "metadata" / "stats" / f"symbol={symbol}" / f"_{day}.json"
    return sorted(json.loads(path.read_text())["hours"], key=lambda h: h["hour"])


def archive_requests(sim: Any) -> list[str]:
    """The archive paths asked so far, once each."""
    return [p for p in sim.stats()["requests"] if p.startswith("/data/")]


def archive_count(sim: Any) -> int:
    return sum(n for p, n in sim.stats()["requests"].items() if p.startswith("/data/"))


def assert_complete(sim: Any, root: Path, first: str, last: str) -> None:
    """verify is clean and a second download has nothing to fetch (no data request)."""
    v = run(None, root, "verify", SYM, "--start", first, "--end", last)
    assert v.returncode == 0, v.stdout + v.stderr
    before, before_archive = data_requests(sim), archive_count(sim)
    again = download(sim, root, first, last)
    assert again.returncode == 0, again.stderr
    assert (data_requests(sim), archive_count(sim)) == (before, before_archive)


def test_archive_days_cost_two_rest_requests_each_and_equal_truth(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    p = download(clean, root, "2024-02-10", "2024-02-14", "--source", "auto")
    assert p.returncode == 0, p.stderr
    # the exchange info read with the clock shows the symbol is listed (no probe),
    # then two per day prove the files
    assert data_requests(clean) == 2 * 5
    assert len(archive_requests(clean)) == 2 * 5          # zip + CHECKSUM per day
    assert_lake_equals_truth(clean, root, SYM, "2024-02-10", "2024-02-14")
    for day in ("2024-02-10", "2024-02-14"):
        hs = hours(root, SYM, day)
        assert len(hs) == 24
        assert all(h["source"] == "archive" and h["complete"] for h in hs)
    assert_complete(clean, root, "2024-02-10", "2024-02-14")


def test_rest_source_never_asks_the_archive(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    p = download(clean, root, "2024-02-10", "2024-02-11", "--source", "rest")
    assert p.returncode == 0, p.stderr
    assert archive_requests(clean) == []
    rest_cost = data_requests(clean)
    assert rest_cost > 2 * 24                                # at least one per hour
    assert_lake_equals_truth(clean, root, SYM, "2024-02-10", "2024-02-11")
    assert all(h["source"] == "rest" and h["complete"] for h in hours(root, SYM, "2024-02-11"))
    # the same days through the archive: the lakes hold identical rows
    clean.control(reset_counters=True)
    other = tmp_path / "arc"
    assert download(clean, other, "2024-02-10", "2024-02-11").returncode == 0
    assert data_requests(clean) == 2 * 2 < rest_cost


def test_truncated_file_keeps_hours_before_the_cut_and_fetches_the_rest(clean: Any, tmp_path: Path) -> None:
    clean.control(archive_truncate={f"{SYM}-2024-02-11": "09:29"})
    root = tmp_path / "lake"
    p = download(clean, root, "2024-02-10", "2024-02-12")
    assert p.returncode == 0, p.stderr
    assert "2024-02-11: the file is truncated" in p.stderr
    assert "15 hours fetched with rest" in p.stderr
    hs = hours(root, SYM, "2024-02-11")
    assert [h["source"] for h in hs] == ["archive"] * 9 + ["rest"] * 15
    assert all(h["complete"] for h in hs)
    assert all(h["source"] == "archive" for h in hours(root, SYM, "2024-02-12"))
    assert_lake_equals_truth(clean, root, SYM, "2024-02-10", "2024-02-12")
    assert_complete(clean, root, "2024-02-10", "2024-02-12")


@pytest.mark.parametrize("fault, why", [("archive_bad_checksum", "sha-256 of the zip"),
                                        ("archive_unpublished", "not published")])
def test_unusable_file_sends_the_whole_day_to_rest(clean: Any, tmp_path: Path, fault: str,
                                                   why: str) -> None:
    clean.control({fault: [f"{SYM}-2024-02-11"]})
    root = tmp_path / "lake"
    p = download(clean, root, "2024-02-10", "2024-02-12")
    assert p.returncode == 0, p.stderr
    assert "2024-02-11: archive not used" in p.stderr and why in p.stderr
    assert all(h["source"] == "rest" and h["complete"] for h in hours(root, SYM, "2024-02-11"))
    assert all(h["source"] == "archive" for h in hours(root, SYM, "2024-02-12"))
    assert_lake_equals_truth(clean, root, SYM, "2024-02-10", "2024-02-12")
    assert_complete(clean, root, "2024-02-10", "2024-02-12")


def test_recent_days_stay_on_rest(clean: Any, tmp_path: Path) -> None:
    # the exchange's yesterday (2024-02-29) and today go hour by hour through rest
    root = tmp_path / "lake"
    p = download(clean, root, "2024-02-28", "2024-02-29")
    assert p.returncode == 0, p.stderr
    assert [r for r in archive_requests(clean) if "2024-02-29" in r] == []
    assert all(h["source"] == "archive" for h in hours(root, SYM, "2024-02-28"))
    assert all(h["source"] == "rest" for h in hours(root, SYM, "2024-02-29"))
    assert_lake_equals_truth(clean, root, SYM, "2024-02-28", "2024-02-29")


def test_archive_only_leaves_a_truncated_day_incomplete_not_wrong(clean: Any, tmp_path: Path) -> None:
    clean.control(archive_truncate={f"{SYM}-2024-02-11": "09:29"})
    root = tmp_path / "lake"
    p = download(clean, root, "2024-02-11", "2024-02-11", "--source", "archive")
    # the file's rows are stored, and the hours it cannot prove are failed units
    assert p.returncode == 1, p.stderr
    assert "stored incomplete" in p.stderr
    units = [json.loads(line) for line in (root / ".retry").read_text().splitlines()]
    assert sorted(u["hour"] for u in units) == list(range(9, 24))
    assert data_requests(clean) == 2                       # the proofs only
    hs = hours(root, SYM, "2024-02-11")
    assert [h["complete"] for h in hs] == [True] * 9 + [False] * 15
    # what is stored is a subset of the truth, exactly (rows before the cut)
    cut = "2024-02-11 09:28:59.999999"
    assert_lake_equals_truth_window(clean, root, "2024-02-11", cut)
    v = run(None, root, "verify", SYM, "--start", "2024-02-11", "--end", "2024-02-11")
    assert v.returncode != 0 and "incomplete" in v.stdout + v.stderr
    # auto afterwards repairs the unproven hours from rest
    fix = download(clean, root, "2024-02-11", "2024-02-11")
    assert fix.returncode == 0, fix.stderr
    assert_lake_equals_truth(clean, root, SYM, "2024-02-11", "2024-02-11")
    assert all(h["complete"] for h in hours(root, SYM, "2024-02-11"))
    assert not (root / ".retry").exists()


def test_unknown_symbol_writes_nothing(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    p = download(clean, root, "2024-02-10", "2024-02-10", symbol="NOSUCHUSDT")
    assert p.returncode == 2
    assert "unknown symbol 'NOSUCHUSDT'" in p.stderr
    assert not (root / "symbol=NOSUCHUSDT").exists()


def test_bad_source_is_a_usage_error(clean: Any, tmp_path: Path) -> None:
    p = download(clean, tmp_path / "lake", "2024-02-10", "2024-02-10", "--source", "ftp")
    assert p.returncode == 2
    assert p.stderr == "aggtrades: invalid --source 'ftp' (expected auto, rest or archive)\n"
    assert data_requests(clean) == 0


def assert_lake_equals_truth_window(sim: Any, root: Path, day: str, end: str) -> None:
    got = lake_rows(root, SYM, day, end)
    want = truth_rows(sim, SYM, iso_us(day + "T00:00:00Z"), iso_us(end.replace(" ", "T") + "Z"))
    assert got == want and len(got) > 0


# --------------------------------------------------------------------------
# update and verify --repair


def stored_lake(sim: Any, root: Path) -> None:
    """BTCUSDT from 2024-02-10 up to the exchange's now, 2024-02-15 00:30 (yesterday is
    02-14): four archive days, then 02-14 and the hour in progress through rest."""
    sim.control(now="2024-02-15T00:30:00Z")
    assert download(sim, root, "2024-02-10", "2024-02-13").returncode == 0
    up = run(sim, root, "--no-progress", "update", SYM)
    assert up.returncode == 0, up.stderr
    assert all(h["source"] == "rest" for h in hours(root, SYM, "2024-02-14"))


def recent_rest_cost(sim: Any, scratch: Path) -> int:
    """aggTrades requests of the hours update always fetches with rest (02-14, 02-15 00)."""
    before = data_requests(sim)
    assert download(sim, scratch, "2024-02-14", "2024-02-15", "--source", "rest").returncode == 0
    return data_requests(sim) - before


def change_files(root: Path) -> set[Path]:
    return set((root / "metadata" / "_changes" / f"symbol={SYM}").iterdir())


def test_update_force_takes_old_days_from_the_archive_and_records_changes(clean: Any,
                                                                          tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pc = pytest.importorskip("pyarrow.compute")
    aggtrades = pytest.importorskip("aggtrades")
    root = tmp_path / "lake"
    stored_lake(clean, root)
    v0 = int(aggtrades.read_changes(root, SYM)["_commit_version"].max())
    # the exchange and the lake disagree on one old hour (prices doubled behind the
    # lake's back): --force must overwrite it and record before and after images
    tampered = root / "symbol=BTCUSDT" / "year=2024" / "month=2" / "day=11" / "BTCUSDT_20240211_05.parquet"
    t = pq.read_table(tampered)
    pq.write_table(t.set_column(2, "price", pc.multiply(t.column("price"), pa.scalar(2.0))),
                   tampered, compression="zstd")
    # the hour's first insert is recorded by reference: its data file no longer proves it
    with pytest.raises(aggtrades.lake.LakeError, match="are no longer those it recorded"):
        aggtrades.read_changes(root, SYM)
    old_files = change_files(root)
    clean.control(reset_counters=True)

    f = run(clean, root, "--no-progress", "update", SYM, "--force", "--source", "auto")
    assert f.returncode == 0, f.stderr
    assert f.stdout.startswith(f"{SYM}: 121 hours, ")        # 5 days and the hour in progress
    assert f", {t.num_rows:,} updated" in f.stdout
    forced, forced_archive = data_requests(clean), len(archive_requests(clean))
    assert forced_archive == 2 * 4                             # zip + CHECKSUM per old day
    assert_lake_equals_truth(clean, root, SYM, "2024-02-10", "2024-02-15")
    for day in ("2024-02-10", "2024-02-11", "2024-02-13"):
        assert all(h["source"] == "archive" and h["complete"] for h in hours(root, SYM, day))
    assert all(h["source"] == "rest" for h in hours(root, SYM, "2024-02-14"))

    # the change feed: exactly the tampered rows, as update pre/post images
    ch = aggtrades.read_changes(root, SYM, v0)
    assert set(ch["_change_type"]) == {"update_preimage", "update_postimage"}
    pre = ch[ch["_change_type"] == "update_preimage"].set_index("trade_id")["price"]
    post = ch[ch["_change_type"] == "update_postimage"].set_index("trade_id")["price"]
    assert sorted(pre.index) == sorted(post.index) == sorted(t.column("trade_id").to_pylist())
    assert all(pre[i] == 2 * post[i] for i in post.index)
    # fetched again, the file proves the first insert again: the whole feed reads
    everything = aggtrades.read_changes(root, SYM)
    assert (everything["_change_type"] == "insert").sum() == len(
        truth_rows(clean, SYM, iso_us("2024-02-10T00:00:00Z"), iso_us("2024-02-15T00:30:00Z")))
    # one change file per committed hour; every other row was a duplicate, skipped
    new_files = sorted(change_files(root) - old_files)
    assert len(new_files) == 121
    meta = [pq.read_metadata(fp).metadata for fp in new_files]
    skipped = sum(int(m[b"aggtrades.skipped"]) for m in meta)
    stored = len(truth_rows(clean, SYM, iso_us("2024-02-10T00:00:00Z"), iso_us("2024-02-15T00:30:00Z")))
    assert skipped == stored - t.num_rows
    assert sorted(m[b"aggtrades.source"].decode() for m in meta).count("archive") == 4 * 24

    # cost: two requests prove each old day (the exchange info shows the symbol is
    # listed), and the hours too recent for the archive cost what they cost through rest
    recent = recent_rest_cost(clean, tmp_path / "scratch")
    assert forced == 2 * 4 + recent


def test_update_force_with_rest_source_never_asks_the_archive(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    stored_lake(clean, root)
    clean.control(reset_counters=True)
    f = run(clean, root, "--no-progress", "update", SYM, "--force", "--source", "rest")
    assert f.returncode == 0, f.stderr
    assert f.stdout.startswith(f"{SYM}: 121 hours, ")
    assert archive_requests(clean) == []
    assert data_requests(clean) > 5 * 24                       # at least one per hour
    assert_lake_equals_truth(clean, root, SYM, "2024-02-10", "2024-02-15")
    assert all(h["source"] == "rest" and h["complete"] for h in hours(root, SYM, "2024-02-12"))
    # plain update takes whole missing old days from the archive too
    other = tmp_path / "other"
    clean.control(now="2024-02-15T00:30:00Z")
    assert download(clean, other, "2024-02-10", "2024-02-10").returncode == 0
    clean.control(reset_counters=True)
    up = run(clean, other, "--no-progress", "update", SYM)
    assert up.returncode == 0, up.stderr
    assert len(archive_requests(clean)) == 2 * 3               # 02-11 .. 02-13
    assert all(h["source"] == "archive" for h in hours(other, SYM, "2024-02-12"))
    assert_lake_equals_truth(clean, other, SYM, "2024-02-10", "2024-02-15")


def test_update_bad_source_is_a_usage_error(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    assert download(clean, root, "2024-02-10", "2024-02-10").returncode == 0
    before = data_requests(clean)
    p = run(clean, root, "update", SYM, "--force", "--source", "ftp")
    assert p.returncode == 2
    assert p.stderr == "aggtrades: invalid --source 'ftp' (expected auto, rest or archive)\n"
    assert data_requests(clean) == before


def test_repair_takes_a_lost_old_day_from_the_archive_and_single_hours_from_rest(
        clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    assert download(clean, root, "2024-02-10", "2024-02-12").returncode == 0
    day = root / "symbol=BTCUSDT" / "year=2024" / "month=2"
    for fp in (day / "day=11").glob("*.parquet"):
        fp.unlink()
    (day / "day=12" / "BTCUSDT_20240212_07.parquet").unlink()
    bad = run(None, root, "verify", SYM)
    assert bad.returncode == 1
    clean.control(reset_counters=True)
    fix = run(clean, root, "--no-progress", "verify", SYM, "--repair")
    assert fix.returncode == 0, fix.stderr
    assert fix.stdout.splitlines()[-1].endswith("verified, no problems")
    assert len(archive_requests(clean)) == 2                   # 2024-02-11 only
    assert all(h["source"] == "archive" for h in hours(root, SYM, "2024-02-11"))
    assert [h["source"] for h in hours(root, SYM, "2024-02-12")][7] == "rest"
    assert_lake_equals_truth(clean, root, SYM, "2024-02-10", "2024-02-12")
    # --source rest never asks the archive; --source without --repair is refused
    for fp in (day / "day=11").glob("*.parquet"):
        fp.unlink()
    clean.control(reset_counters=True)
    again = run(clean, root, "--no-progress", "verify", SYM, "--repair", "--source", "rest")
    assert again.returncode == 0, again.stderr
    assert archive_requests(clean) == [] and data_requests(clean) >= 24
    assert all(h["source"] == "rest" for h in hours(root, SYM, "2024-02-11"))
    assert_lake_equals_truth(clean, root, SYM, "2024-02-10", "2024-02-12")
    p = run(None, root, "verify", SYM, "--source", "rest")
    assert p.returncode == 2
    assert p.stderr == ("aggtrades: --source only applies to --repair "
                        "(see 'aggtrades verify --help')\n")


def test_retry_takes_no_source(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    assert download(clean, root, "2024-02-10", "2024-02-10").returncode == 0
    p = run(clean, root, "retry", "--source", "auto")
    assert p.returncode == 2 and "--source" in p.stderr
