"""The day source through the CLI: ``aggtrades download --source auto|rest|archive``.

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

from test_cli import (BIN, assert_lake_equals_truth, data_requests, iso_us, lake_rows, run,
                      sim, truth_rows)

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")

SYM = "BTCUSDT"
assert sim  # the module's simulator: test_cli's fixture (clock frozen at 2024-03-01 12:34:56)


@pytest.fixture()
def clean(sim: Any) -> Any:
    sim.reset()
    sim.control(weight_limit=1000000, archive_truncate={}, archive_bad_checksum=[],
                archive_unpublished=[])
    return sim


def download(sim: Any, root: Path, first: str, last: str, *extra: str,
             symbol: str = SYM) -> Any:
    return run(sim, root, "--archive-url", sim.url, "--no-progress", "download", symbol,
               "--start", first, "--end", last, *extra)


def hours(root: Path, symbol: str, day: str) -> list[dict[str, Any]]:
    """The statistics of the day's stored hours, in hour order."""
    path = root / "metadata" / "stats" / f"symbol={symbol}" / f"{day}.json"
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
    # one request shows the symbol is listed, then two per day prove the files
    assert data_requests(clean) == 1 + 2 * 5
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
    assert data_requests(clean) == 1 + 2 * 2 < rest_cost


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
    assert p.returncode == 0, p.stderr
    assert "stored incomplete" in p.stderr
    assert data_requests(clean) == 1 + 2                   # the proofs only
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
