"""verify and verify --repair from Python (aggtrades.verify) are the tool's: one library call.

A lake built by the tool is damaged (an hour file deleted, one truncated,
another hour's file copied over a third, leftovers no commit owns planted)
and copied. ``aggtrades verify`` on one copy and ``aggtrades.verify`` on the
other name the same problems, line for line, and write nothing; then
``aggtrades.verify(repair=True)`` heals one copy and ``aggtrades verify
--repair`` the other: both hold exactly the simulator's truth, and are the
same lake file for file. Bad input raises before anything is written.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

import aggtrades
from test_cli import assert_lake_equals_truth, clean, run, sim, tree  # noqa: F401 (fixtures)
from test_sync_python import data_files, parquet_facts, py_opts, stats_entries

SYM = "ETHBTC"
DAYS = ("2024-02-20", "2024-02-21")


def damage(root: Path) -> None:
    day = root / f"symbol={SYM}" / "year=2024" / "month=2" / "day=20"
    (day / f"{SYM}_20240220_05.parquet").unlink()
    cut = day / f"{SYM}_20240220_09.parquet"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    shutil.copyfile(day / f"{SYM}_20240220_11.parquet", day / f"{SYM}_20240220_14.parquet")
    kept = day / f"{SYM}_20240220_17.parquet"
    shutil.copyfile(kept, day / f".{kept.name}.prev")
    (day / f".{kept.name}.tmp").write_bytes(kept.read_bytes()[:100])


def tool_line(p: aggtrades.Problem) -> str:
    """The line `aggtrades verify` prints for a problem."""
    ts = p.hour.strftime("%Y-%m-%d %H:%M") if p.hour else "-"
    what = f"{p.path}: {p.detail}" if p.hour is None and p.path else p.detail
    return f"{SYM} {ts:<16}  {p.kind:<10}  {what}"


def test_python_and_tool_find_the_same_problems_and_repair_alike(clean: Any, tmp_path: Path) -> None:
    a, b = tmp_path / "tool", tmp_path / "python"
    assert run(clean, a, "download", SYM, "--start", DAYS[0], "--end", DAYS[1]).returncode == 0
    damage(a)
    shutil.copytree(a, b)
    before = tree(b)

    p = run(None, a, "verify", SYM)
    assert p.returncode == 1, p.stderr
    r = aggtrades.verify(b, SYM.lower())
    assert tree(b) == before  # read only
    assert r.status == "AGT_EINCOMPLETE" and not r.ok and r.symbol == SYM
    assert r.found == r.problems and r.refetch is None and r.refetched == () and r.repaired == ()
    # the lake's messages name a file by its full path: each copy its own root
    *lines, summary = p.stdout.replace(str(a), "ROOT").splitlines()
    assert lines == [tool_line(x).replace(str(b), "ROOT") for x in r.problems]
    assert {x.kind for x in r.problems} >= {"missing", "damaged", "stray"}
    assert [x.hour.hour for x in r.problems if x.kind == "missing"] == [5]
    assert sorted(x.hour.hour for x in r.problems if x.kind == "damaged") == [9, 14]
    assert all(x.path.endswith((".prev", ".tmp")) for x in r.problems if x.kind == "stray")
    assert r.hours_checked == 48 and r.counts == {k: sum(x.kind == k for x in r.problems) for k in r.counts}
    counts = ", ".join(f"{n} {k}" for k, n in r.counts.items())
    assert summary == (f"{SYM}: 48 hours from {DAYS[0]} 00:00 to {DAYS[1]} 23:59 verified, "
                       f"{len(r.problems)} problems ({counts})")
    assert str(r.start) == f"{DAYS[0]} 00:00:00+00:00" and r.end.hour == 23
    assert r.failing == tuple(sorted({x.hour for x in r.problems if x.hour}))

    events: list[aggtrades.SyncEvent] = []
    fixed = aggtrades.verify(b, SYM, repair=True, progress=events.append, **py_opts(clean))
    assert fixed.status == "AGT_OK" and fixed.ok and fixed.failing == () and fixed.counts == {}
    assert [h.hour for h in fixed.refetched] == [5, 9, 14]
    assert fixed.repaired == fixed.refetched
    assert fixed.refetch is not None and fixed.refetch.units_done == 3 and fixed.refetch.units_failed == 0
    # what the repair fetched from: the leftovers were cleared first (the tool says which)
    assert fixed.found == tuple(x for x in r.problems if x.kind != "stray")
    checks = [e for e in events if e.kind == "checked"]
    assert len(checks) == 3 and all(e.verb == "verify" and e.symbol == SYM for e in checks)
    assert sum(e.kind == "hour_done" and e.ok and e.verb == "repair" for e in events) == 3

    t = run(clean, a, "--no-progress", "verify", SYM, "--repair")
    assert t.returncode == 0, t.stderr
    assert t.stdout.splitlines()[-1] == f"{SYM}: 48 hours from {DAYS[0]} 00:00 to {DAYS[1]} 23:59 verified, no problems"
    for root in (a, b):
        assert_lake_equals_truth(clean, root, SYM, *DAYS)
        assert run(None, root, "verify", SYM).returncode == 0
        assert aggtrades.verify(root, SYM).ok
    fa, fb = data_files(a), data_files(b)
    assert fa.keys() == fb.keys()
    for name in fa:
        assert parquet_facts(fa[name]) == parquet_facts(fb[name]), name
    assert stats_entries(a) == stats_entries(b)
    # what was set aside is kept, under the same names but for the time of the move
    aside = [sorted(q.name.rsplit("-", 1)[0] for q in r.rglob("*.damaged-*")) for r in (a, b)]
    assert aside[0] == aside[1] and len(aside[0]) >= 3


def test_bad_input_raises_before_anything_is_written(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    assert run(clean, root, "download", SYM, "--start", DAYS[0], "--end", DAYS[0]).returncode == 0
    damage(root)
    before = tree(root)
    requests = int(clean.stats()["data_requests"])
    cases = [
        ({"symbol": "ETH/BTC"}, "invalid symbol"),
        ({"symbol": "BTCUSDT"}, "nothing stored for 'BTCUSDT'"),
        ({"start": "2024-02-21", "end": "2024-02-20"}, "reversed range"),
        ({"start": "yesterday"}, "invalid start"),
        ({"market": "options"}, "invalid market"),
        ({"source": "ftp"}, "invalid source"),
    ]
    for kw, message in cases:
        args = {"symbol": SYM, "repair": True, **py_opts(clean), **kw}
        with pytest.raises(aggtrades.LakeError, match=message):
            aggtrades.verify(root, args.pop("symbol"), **args)
    with pytest.raises(aggtrades.LakeError, match="no lake at"):
        aggtrades.verify(tmp_path / "none", SYM, repair=True, **py_opts(clean))
    for args in (["verify", SYM], ["verify", SYM, "--repair"]):  # bad input for the tool too
        p = run(clean, tmp_path / "none", *args)
        assert p.returncode == 2 and p.stderr == (f"aggtrades: no lake at '{tmp_path / 'none'}' "
                                                  "(run 'aggtrades download' first or set --root)\n")
    assert not (tmp_path / "none").exists()
    # the lock file names the last writer to open the lake (as after a bad update): not lake content
    after = tree(root)
    assert {k: v for k, v in after.items() if k != "metadata/_lock"} == \
        {k: v for k, v in before.items() if k != "metadata/_lock"}
    assert int(clean.stats()["data_requests"]) == requests


def test_exchange_out_of_reach_during_a_repair_is_a_fetch_error(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    assert run(clean, root, "download", SYM, "--start", DAYS[0], "--end", DAYS[0]).returncode == 0
    (root / f"symbol={SYM}" / "year=2024" / "month=2" / "day=20" / f"{SYM}_20240220_05.parquet").unlink()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(aggtrades.FetchError, match="cannot read the exchange's clock"):
        aggtrades.verify(root, SYM, repair=True, api_url=dead, archive_url=dead, interval_ms=0)
    r = aggtrades.verify(root, SYM)  # still reported, nothing lost
    assert [(x.kind, x.hour.hour) for x in r.problems] == [("missing", 5)]
