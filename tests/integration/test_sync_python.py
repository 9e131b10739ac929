"""The engine from Python (aggtrades.download/update/retry) is the tool's engine.

A lake built with ``aggtrades.download`` and one built with ``aggtrades
download`` against the same simulator are identical file for file (the same
files, the same rows, the same Parquet statistics and key-value metadata, the
same statistics entries; only the commit and fetch times differ, and so the
files' hashes), and
both hold exactly the simulator's truth. Bad input raises before anything is
written; failed units are reported and listed in ``.retry``; progress events
arrive and can stop a run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import aggtrades
from test_cli import BIN, assert_lake_equals_truth, child_env, clean, sim, tree  # noqa: F401 (fixtures)

# when it was done, not what was stored (xxh64 hashes the file, which records both)
VOLATILE = {"commit_ts", "fetched_at", "xxh64"}
VOLATILE_KV = {b"aggtrades.commit_ts_us", b"aggtrades.fetched_at_us"}


def tool(sim: Any, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [BIN, "--root", str(root), "--interval-ms", "0", "--api-url", sim.url, "--archive-url", sim.url]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300, env=child_env())


def py_opts(sim: Any) -> dict[str, Any]:
    return {"api_url": sim.url, "archive_url": sim.url, "interval_ms": 0}


def data_files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.glob("symbol=*/year=*/month=*/day=*/*.parquet"))}


def parquet_facts(path: Path) -> tuple[Any, ...]:
    """A data file's rows, its column statistics per row group and its key-value metadata."""
    f = pq.ParquetFile(path)
    m = f.metadata
    stats = [(m.row_group(g).column(c).path_in_schema, m.row_group(g).column(c).statistics.to_dict())
             for g in range(m.num_row_groups) for c in range(m.num_columns)]
    kv = {k: v for k, v in (m.metadata or {}).items() if k not in VOLATILE_KV}
    return f.read().to_pydict(), m.num_rows, stats, kv


def stats_entries(root: Path) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for p in sorted((root / "metadata" / "stats").rglob("*.json")):
        doc = json.loads(p.read_text())
        out[str(p.relative_to(root))] = [{k: v for k, v in h.items() if k not in VOLATILE}
                                         for h in doc["hours"]]
    return out


def test_python_and_tool_build_identical_lakes(clean: Any, tmp_path: Path) -> None:
    a, b = tmp_path / "python", tmp_path / "tool"
    rep = aggtrades.download(a, ["btcusdt", "ETHBTC"], "2024-02-27", "2024-02-29", **py_opts(clean))
    p = tool(clean, b, "download", "BTCUSDT", "ethbtc", "--start", "2024-02-27", "--end", "2024-02-29")
    assert p.returncode == 0, p.stderr
    assert rep.status == "AGT_OK" and rep.units_failed == 0 and not rep.interrupted
    assert rep.symbols == 2 and rep.units_total == rep.units_done == 2 * 3 * 24 and rep.days_total == 6
    assert rep.trades > 0 and rep.bytes > 0

    fa, fb = data_files(a), data_files(b)
    assert len(fa) > 100 and fa.keys() == fb.keys()  # hours without a trade have no file
    for name in fa:
        assert parquet_facts(fa[name]) == parquet_facts(fb[name]), name
    assert stats_entries(a) == stats_entries(b)
    total = sum(pq.read_metadata(fa[n]).num_rows for n in fa)
    assert total == rep.trades
    for root in (a, b):
        for sym in ("BTCUSDT", "ETHBTC"):
            assert_lake_equals_truth(clean, root, sym, "2024-02-27", "2024-02-29")

    # a second download is all skipped, like the tool's
    again = aggtrades.download(a, "BTCUSDT", "2024-02-27", "2024-02-29", **py_opts(clean))
    assert again.units_total == 0 and again.days_skipped == 3


def test_update_and_events(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    aggtrades.download(root, "ETHBTC", "2024-02-29", "2024-02-29", **py_opts(clean))
    events: list[aggtrades.SyncEvent] = []
    rep = aggtrades.update(root, ["ethbtc"], progress=events.append, **py_opts(clean))
    assert rep.status == "AGT_OK" and rep.units_done == rep.units_total > 0
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "finish" and "planned" in kinds
    done = [e for e in events if e.kind == "hour_done"]
    assert len(done) == rep.units_total and all(e.ok and e.symbol == "ETHBTC" for e in done)
    assert sum(e.rows for e in done) == rep.trades
    assert all(e.verb == "update" for e in events)
    assert_lake_equals_truth(clean, root, "ETHBTC", "2024-02-29", "2024-03-01")


def test_progress_stops_the_run(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    seen = []

    def stop_after_two(ev: aggtrades.SyncEvent) -> bool:
        seen.append(ev.kind)
        return seen.count("hour_done") >= 2

    rep = aggtrades.download(root, "BTCUSDT", "2024-02-28", "2024-02-28", source="rest",
                             progress=stop_after_two, **py_opts(clean))
    assert rep.interrupted and rep.status == "AGT_ECANCELLED"
    assert rep.units_done == 2 < rep.units_total
    # an exception from the callback also stops the run, and comes back out
    with pytest.raises(ZeroDivisionError):
        aggtrades.download(root, "BTCUSDT", "2024-02-28", "2024-02-28", source="rest",
                           progress=lambda ev: 1 / 0 if ev.kind == "hour_done" else None, **py_opts(clean))
    done = aggtrades.download(root, "BTCUSDT", "2024-02-28", "2024-02-28", source="rest", **py_opts(clean))
    assert done.status == "AGT_OK" and done.units_done == done.units_total == 24 - 3
    assert_lake_equals_truth(clean, root, "BTCUSDT", "2024-02-28", "2024-02-28")


@pytest.mark.parametrize("call,exc,words", [
    (lambda r, o: aggtrades.download(r, "BTC-USDT", "2024-02-28", "2024-02-28", **o),
     aggtrades.LakeError, "invalid symbol 'BTC-USDT'"),
    (lambda r, o: aggtrades.download(r, "NOSUCHUSDT", "2024-02-28", "2024-02-28", **o),
     aggtrades.FetchError, "unknown symbol 'NOSUCHUSDT'"),
    (lambda r, o: aggtrades.download(r, "BTCUSDT", "2017-06-30", "2017-07-01", **o),
     aggtrades.LakeError, "before 2017-07-01"),
    (lambda r, o: aggtrades.download(r, "BTCUSDT", "2024-02-28", "2024-02-27", **o),
     aggtrades.LakeError, "reversed range"),
    (lambda r, o: aggtrades.download(r, "BTCUSDT", "2024-03-01", "2024-03-02", **o),
     aggtrades.LakeError, "in the future"),
    (lambda r, o: aggtrades.download(r, "BTCUSDT", "2024-02-28", "2024-02-28", source="ftp", **o),
     aggtrades.LakeError, "invalid source"),
    (lambda r, o: aggtrades.update(r, "BTCUSDT", **o), aggtrades.LakeError, "nothing stored for 'BTCUSDT'"),
    (lambda r, o: aggtrades.retry(r, api_url=o["api_url"]), aggtrades.LakeError, "no lake at"),
])
def test_bad_input_raises_and_writes_nothing(clean: Any, tmp_path: Path, call: Any, exc: type,
                                             words: str) -> None:
    root = tmp_path / "lake"
    root.mkdir()
    before = tree(root)
    with pytest.raises(exc, match=words.replace("(", r"\(").replace(")", r"\)")):
        call(root, py_opts(clean))
    assert tree(root) == before


def test_failed_units_are_reported_and_retried(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    clean.control(next=["500json"] * 4)  # every attempt of the first page fails
    rep = aggtrades.download(root, ["ETHBTC", "BNBUSDT"], "2024-02-05", "2024-02-05", source="rest",
                             **py_opts(clean))
    assert rep.status == "AGT_EINCOMPLETE" and rep.units_failed == 1 and rep.units_done == 47
    assert f"1 hour failed and is recorded in '{root}/.retry'" in rep.message
    unit = json.loads((root / ".retry").read_text())
    assert unit["symbol"] == "ETHBTC" and unit["hour"] == 0 and unit["attempts"] == 4
    again = aggtrades.retry(root, api_url=clean.url, interval_ms=0)
    assert again.status == "AGT_OK" and again.units_done == 1 and not (root / ".retry").exists()
    for sym in ("ETHBTC", "BNBUSDT"):
        assert_lake_equals_truth(clean, root, sym, "2024-02-05", "2024-02-05")
    assert aggtrades.retry(root, api_url=clean.url).units_total == 0


BAR_SCRIPT = """
import sys, aggtrades
rep = aggtrades.download(sys.argv[1], "ETHBTC", "2024-02-29", "2024-02-29", api_url=sys.argv[2],
                         archive_url=sys.argv[2], interval_ms=0)
print("units", rep.units_done, flush=True)
"""


def download_in_child(sim: Any, root: Path, terminal: bool) -> tuple[str, str]:
    """Run a Python download in a child whose stderr is a terminal (a pty) or a pipe;
    its stdout and stderr as text."""
    import os
    import pty
    import sys
    master, slave = pty.openpty() if terminal else os.pipe()
    if terminal:  # a terminal 80 columns wide (a new pty has none, and tqdm draws nothing)
        import fcntl
        import struct
        import termios
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    p = subprocess.Popen([sys.executable, "-c", BAR_SCRIPT, str(root), sim.url], env=child_env(),
                         stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # a pty's master reads EIO once the child has closed it
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    out = p.stdout.read() if p.stdout else ""
    assert p.wait(timeout=300) == 0
    return out, b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_a_tqdm_bar(clean: Any, tmp_path: Path) -> None:
    """With tqdm installed (requirements-dev.txt) and no progress callback, a run whose
    stderr is a terminal draws tqdm's bar over its hours; one writing to a pipe draws none."""
    import tqdm  # noqa: F401 (the bar needs it: a missing tqdm fails here, not silently)
    out, err = download_in_child(clean, tmp_path / "tty", terminal=True)
    assert "units 24" in out
    assert "24/24" in err and "100%" in err, err
    out, err = download_in_child(clean, tmp_path / "pipe", terminal=False)
    assert "units 24" in out and "24/24" not in err and "%|" not in err, err
