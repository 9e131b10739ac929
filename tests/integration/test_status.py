"""`aggtrades status`: what the lake holds per symbol, checked against the files.

One lake is built by the real binary from the simulator (--now 2024-03-01T12:34:56Z):

* BTCUSDT: 2024-02-26, then 2024-02-29 .. 2024-03-01: a gap of two days (48 missing
  hours) and today's 12:00 hour, stored before it ended (open);
* ETHBTC: 2024-02-29 .. 2024-03-01 through rest with four 500s queued, so the first
  hour fails and lands in .retry (before every stored hour: it opens the span), then
  an `update --force` (a change-feed version per hour fetched again).

Every figure of the table and of the JSON is computed here on its own: hours from the
download ranges, rows by pyarrow, bytes by os.stat, change files from their names,
failures from .retry. That status reads no data file is shown twice: by strace where
present, and by overwriting every data file's bytes, after which status says the same
(verify does not).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from test_cli import BIN, NOW, day_us, iso_us, run, textwrap_complete, tree

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")

HOUR = 3_600_000_000
OPEN_HOUR = day_us("2024-03-01") + 12 * HOUR  # NOW is 12:34:56


@pytest.fixture(scope="module")
def sim(start_sim_module: Any) -> Any:
    return start_sim_module("--now", NOW, "--weight-limit", "1000000",
                            "--futures-weight-limit", "1000000")


def hours(first_day: str, last_day: str) -> list[int]:
    """Every hour of the days that has begun by NOW."""
    h, end = day_us(first_day), min(day_us(last_day) + 24 * HOUR, OPEN_HOUR + HOUR)
    return list(range(h, end, HOUR))


@pytest.fixture(scope="module")
def lake(sim: Any, tmp_path_factory: Any) -> Path:
    root = tmp_path_factory.mktemp("status") / "lake"
    sim.reset()
    sim.control(weight_limit=1000000, fault_paths=["/api/v3/aggTrades", "/data/"])
    for a, b in (("2024-02-26", "2024-02-26"), ("2024-02-29", "2024-03-01")):
        p = run(sim, root, "download", "BTCUSDT", "--start", a, "--end", b, "--no-progress")
        assert p.returncode == 0, p.stderr
    sim.control(next=["500json"] * 4)  # every attempt of the first page fails
    p = run(sim, root, "download", "ETHBTC", "--start", "2024-02-29", "--end", "2024-03-01",
            "--source", "rest", "--no-progress")
    assert p.returncode == 1, p.stderr
    p = run(sim, root, "update", "ETHBTC", "--force", "--no-progress")
    assert p.returncode == 0, p.stderr
    return root


def data_files(root: Path, symbol: str) -> list[Path]:
    """The data files engines see (hidden leftovers excluded): `.parquet` for spot,
    `.parq` in a futures lake."""
    return sorted(f for f in (root / f"symbol={symbol}").rglob("*.parq*")
                  if not f.name.startswith(".") and f.suffix in (".parquet", ".parq"))


def expected(root: Path, symbol: str, stored: list[int]) -> dict[str, Any]:
    """status's figures for `symbol`, computed from the files and the ledger alone."""
    files = data_files(root, symbol)
    failed = set()
    if (root / ".retry").exists():
        for line in (root / ".retry").read_text().splitlines():
            u = json.loads(line)
            if u["symbol"] == symbol:
                failed.add(day_us(u["date"]) + u["hour"] * HOUR)
    span = sorted(set(stored) | failed)
    first, last = span[0], span[-1]
    n = (last - first) // HOUR + 1
    open_ = int(OPEN_HOUR in stored and OPEN_HOUR not in failed)
    complete = len(set(stored) - failed) - open_
    changes = [f for f in (root / "metadata" / "_changes" / f"symbol={symbol}").iterdir()
               if re.fullmatch(r"v\d{20}\.pq", f.name)]
    return {
        "symbol": symbol, "first_hour": _iso(first), "last_hour": _iso(last), "hours": n,
        "complete": complete, "open": open_, "failed": len(failed),
        "missing": n - complete - open_ - len(failed),
        "trades": sum(pq.read_metadata(f).num_rows for f in files),
        "data_files": len(files), "data_bytes": sum(f.stat().st_size for f in files),
        "change_versions": len(changes),
        "latest_version": max(int(f.name[1:21]) for f in changes),
        "change_bytes": sum(f.stat().st_size for f in changes),
    }


def _iso(us: int) -> str:
    t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def status_json(root: Path, *args: str) -> dict[str, Any]:
    p = run(None, root, "status", "--output", "json", *args)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    return json.loads(p.stdout)


BTC_STORED = hours("2024-02-26", "2024-02-26") + hours("2024-02-29", "2024-03-01")
ETH_STORED = hours("2024-02-29", "2024-03-01")[1:]  # hour 0 failed


def test_json_equals_what_the_files_hold(lake: Path, sim: Any) -> None:
    got = status_json(lake)
    assert got["market"] == "spot"
    want = [expected(lake, "BTCUSDT", BTC_STORED), expected(lake, "ETHBTC", ETH_STORED)]
    assert got["symbols"] == want
    btc, eth = got["symbols"]
    # the lake as built: a two-day gap, one open hour, the failed hour opening ETHBTC's span
    assert (btc["hours"], btc["complete"], btc["open"], btc["failed"], btc["missing"]) == (109, 60, 1, 0, 48)
    assert (eth["hours"], eth["complete"], eth["open"], eth["failed"], eth["missing"]) == (37, 35, 1, 1, 0)
    assert eth["first_hour"] == "2024-02-29T00:00:00Z" and btc["last_hour"] == "2024-03-01T12:00:00Z"
    # rows: the exchange's, not just what the files say
    assert btc["trades"] == sum(len(sim.truth("BTCUSDT", day_us(d), day_us(d) + 24 * HOUR - 1))
                                for d in ("2024-02-26", "2024-02-29")) \
        + len(sim.truth("BTCUSDT", day_us("2024-03-01"), iso_us(NOW)))
    # update --force wrote one change file per hour it fetched again
    assert eth["change_versions"] == 2 * len(ETH_STORED)
    # symbols asked for: that order, once each, any case
    one = status_json(lake, "ethbtc", "BTCUSDT", "ETHBTC")
    assert [s["symbol"] for s in one["symbols"]] == ["ETHBTC", "BTCUSDT"]
    assert one["symbols"] == [want[1], want[0]]


def test_table(lake: Path) -> None:
    p = run(None, lake, "status")
    assert p.returncode == 0 and p.stderr == ""
    lines = p.stdout.splitlines()
    assert len(lines) == 3
    head = lines[0].split()
    assert head == ["symbol", "first", "hour", "last", "hour", "hours", "complete", "open", "failed",
                    "missing", "trades", "data", "changes", "latest", "feed"]
    # aligned: every column ends (or starts, for the text ones) at the same place in each line
    assert len({len(x) for x in lines}) == 1
    btc = expected(lake, "BTCUSDT", BTC_STORED)
    cells = lines[1].split()
    assert cells[:5] == ["BTCUSDT", "2024-02-26", "00:00", "2024-03-01", "12:00"]
    assert cells[5:10] == ["109", "60", "1", "0", "48"]
    assert cells[10] == f"{btc['trades']:,}"
    assert f"{cells[11]} {cells[12]}" == _si(btc["data_bytes"])
    assert cells[13] == f"{btc['change_versions']:,}" and cells[14] == str(btc["latest_version"])
    assert f"{cells[15]} {cells[16]}" == _si(btc["change_bytes"])
    eth = lines[2].split()
    assert eth[0] == "ETHBTC" and eth[5:10] == ["37", "35", "1", "1", "0"]


def _si(n: int) -> str:
    """The tool's byte counts: SI units, three significant digits (test_cli_format.py)."""
    v, unit = float(n), "B"
    for u in ("kB", "MB", "GB"):
        if v < 999.5:
            break
        v, unit = v / 1000, u
    if unit == "B":
        return f"{n} B"
    return f"{v:.2f} {unit}" if v < 9.995 else f"{v:.1f} {unit}" if v < 99.95 else f"{v:.0f} {unit}"


def test_no_data_file_is_opened(lake: Path, tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("no strace")
    log = tmp_path / "trace"
    p = subprocess.run(["strace", "-f", "-o", str(log), "-e", "trace=open,openat,openat2,stat,newfstatat,"
                        "statx,lstat", BIN, "--root", str(lake), "status"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    calls = log.read_text()
    assert re.search(r"metadata/stats/symbol=BTCUSDT/_2024-02-26\.json", calls)  # it did read the index
    touched = re.findall(r'"([^"]*\.parq(?:uet)?)"', calls)
    assert touched == [], touched[:5]


def test_status_is_unchanged_when_every_data_file_is_damaged(lake: Path, tmp_path: Path) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)
    before = run(None, copy, "status", "--output", "json").stdout
    for f in data_files(copy, "BTCUSDT") + data_files(copy, "ETHBTC"):
        size = f.stat().st_size
        f.write_bytes(b"\x5a" * size)  # same size, nothing of Parquet left
    after = run(None, copy, "status", "--output", "json")
    assert after.returncode == 0 and after.stdout == before
    v = run(None, copy, "verify", "ETHBTC")  # the check that does read them
    assert v.returncode == 1 and "damaged" in v.stdout


def test_damaged_statistics_are_named(lake: Path, tmp_path: Path) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy)
    stats = copy / "metadata" / "stats" / "symbol=BTCUSDT" / "_2024-02-26.json"
    stats.write_text("{not json")
    before = tree(copy)
    p = run(None, copy, "status")
    assert p.returncode == 3 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith(f"aggtrades: cannot read the lake '{copy}': ")
    assert "_2024-02-26.json" in p.stderr
    assert run(None, copy, "status", "ETHBTC").returncode == 0  # the other symbol is readable
    assert tree(copy) == before


def test_reads_only_never_locks_and_writes_nothing(lake: Path) -> None:
    before = tree(lake)
    want = run(None, lake, "status").stdout
    with open(lake / "metadata" / "_lock", "a+") as f:  # a writer holds the lake
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        p = run(None, lake, "status")
        assert p.returncode == 0 and p.stdout == want, p.stderr
    assert tree(lake) == before


def test_read_only_file_system(lake: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(lake), str(ro)], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        r = subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot remount read-only: {r.stderr.strip()}")
        with pytest.raises(OSError):
            (ro / "probe").write_text("x")
        p = run(None, ro, "status", "--output", "json")
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == status_json(lake)
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)


@pytest.mark.parametrize("args,code,message", [
    (["status", "FOOBAR"], 2, "aggtrades: nothing stored for 'FOOBAR' in '{root}'"),
    (["status", "BTCUSDT", "FOOBAR"], 2, "aggtrades: nothing stored for 'FOOBAR' in '{root}'"),
    (["status", "BTC/USDT"], 2,
     "aggtrades: invalid symbol 'BTC/USDT' (expected 2 to 20 letters and digits, e.g. BTCUSDT)"),
    (["status", "--output", "csv"], 2, "aggtrades: invalid --output 'csv' (expected table or json)"),
], ids=["unknown", "one-unknown", "invalid", "output"])
def test_bad_input(lake: Path, args: list[str], code: int, message: str) -> None:
    before = tree(lake)
    p = run(None, lake, *args)
    assert (p.returncode, p.stderr, p.stdout) == (code, message.format(root=lake) + "\n", "")
    assert tree(lake) == before


def test_no_lake_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "none"
    p = run(None, root, "status")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == f"aggtrades: no lake at '{root}' (run 'aggtrades download' first or set --root)\n"
    assert not root.exists()
    (tmp_path / "empty").mkdir()
    p = run(None, tmp_path / "empty", "status")
    assert (p.returncode, p.stdout) == (0, f"nothing stored in '{tmp_path / 'empty'}'\n")
    p = run(None, tmp_path / "empty", "status", "--output", "json")
    assert json.loads(p.stdout) == {"market": "spot", "symbols": []}
    assert list((tmp_path / "empty").iterdir()) == []


def test_futures_market(sim: Any, lake: Path, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    shutil.copytree(lake, root)
    spot = status_json(root)
    p = run(sim, root, "--market", "um", "download", "BTCUSDT", "--start", "2024-02-27", "--end",
            "2024-02-27", "--no-progress")
    assert p.returncode == 0, p.stderr
    um = root / "_futures" / "um"
    got = status_json(root, "--market", "um")
    assert got["market"] == "um"
    assert got["symbols"] == [expected(um, "BTCUSDT", hours("2024-02-27", "2024-02-27"))]
    assert got["symbols"][0]["complete"] == 24 and got["symbols"][0]["data_files"] == 24
    assert status_json(root) == spot  # spot's lake does not count the futures files
    p = run(None, root, "--market", "cm", "status")
    assert p.returncode == 2 and f"no lake at '{root}/_futures/cm'" in p.stderr


def test_help_and_completion(lake: Path, tmp_path: Path) -> None:
    usage = run(None, tmp_path, "--help").stdout
    assert re.search(r"^  status +what the lake holds", usage, re.M)
    h = run(None, tmp_path, "help", "status")
    assert h.returncode == 0 and h.stdout.startswith("usage: aggtrades status [SYMBOL...]")
    assert "--output" in h.stdout and "missing" in h.stdout
    bash = run(None, tmp_path, "completion", "bash").stdout
    script = bash + textwrap_complete("aggtrades sta", 1) + textwrap_complete("aggtrades status --ou", 2)
    script += textwrap_complete(f"aggtrades --root {lake} status ET", 4)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["status", "--output", "ETHBTC"]
    zsh = run(None, tmp_path, "completion", "zsh").stdout
    assert "status) _arguments $global '--output[the format]:FORMAT:(table json)' '*:symbol:_aggtrades_symbols'" in zsh
    assert "status\\:" in zsh


def test_python_status_is_the_tools(lake: Path, tmp_path: Path) -> None:
    import aggtrades

    got = aggtrades.status(lake)
    assert all(isinstance(s, aggtrades.SymbolStatus) for s in got)
    assert [s.as_dict() for s in got] == status_json(lake)["symbols"]
    eth = aggtrades.status(str(lake), "ethbtc")
    assert len(eth) == 1 and eth[0].failed == 1 and eth[0].open == 1
    assert eth[0].first_hour == dt.datetime(2024, 2, 29, tzinfo=dt.timezone.utc)
    assert [s.symbol for s in aggtrades.status(lake, ["ETHBTC", "btcusdt"])] == ["ETHBTC", "BTCUSDT"]
    before = tree(lake)
    for kw, status, text in (
            ({"symbols": ["FOOBAR"]}, "AGT_ENOTFOUND", "nothing stored for 'FOOBAR'"),
            ({"symbols": "BTC/USDT"}, "AGT_EINVAL", "invalid symbol 'BTC/USDT'"),
            ({"symbols": []}, "AGT_EINVAL", "no symbol given"),
            ({"market": "usdm"}, "AGT_EINVAL", "invalid market 'usdm'"),
            ({"market": "cm"}, "AGT_ENOTFOUND", "no lake at")):
        with pytest.raises(aggtrades.LakeError) as e:
            aggtrades.status(lake, **kw)
        assert e.value.status == status and text in e.value.message, (kw, e.value)
    assert tree(lake) == before
    with pytest.raises(aggtrades.LakeError) as e:
        aggtrades.status(tmp_path / "none")
    assert e.value.status == "AGT_ENOTFOUND" and not (tmp_path / "none").exists()


def test_python_status_of_a_futures_lake(sim: Any, lake: Path, tmp_path: Path) -> None:
    import aggtrades

    root = tmp_path / "lake"
    p = run(sim, root, "--market", "cm", "download", "BTCUSD_PERP", "--start", "2024-02-28", "--end",
            "2024-02-28", "--no-progress")
    assert p.returncode == 0, p.stderr
    got = aggtrades.status(root, market="cm")
    assert [s.as_dict() for s in got] == status_json(root, "--market", "cm")["symbols"]
    assert got[0].symbol == "BTCUSD_PERP" and got[0].complete == 24 and got[0].missing == 0
    assert aggtrades.status(root) == []  # the spot lake of that root holds nothing


def test_beside_a_running_download(sim: Any, tmp_path: Path) -> None:
    """Status answers while a writer commits (no lock, never blocked), each answer whole:
    its classes add up to its span and the trades only grow."""
    root = tmp_path / "lake"
    sim.reset()
    sim.control(weight_limit=1000000)
    cmd = [BIN, "--root", str(root), "--api-url", sim.url, "--archive-url", sim.url, "--interval-ms", "20",
           "download", "BTCUSDT", "--start", "2024-02-20", "--end", "2024-02-21", "--source", "rest",
           "--no-progress"]
    writer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = []
    try:
        while writer.poll() is None:
            p = run(None, root, "status", "--output", "json")
            if p.returncode == 2 and "no lake at" in p.stderr:
                continue  # not created yet
            assert p.returncode == 0, p.stderr
            for s in json.loads(p.stdout)["symbols"]:
                assert s["complete"] + s["open"] + s["failed"] + s["missing"] == s["hours"]
                seen.append(s["trades"])
    finally:
        writer.wait(120)
    assert writer.returncode == 0
    assert seen == sorted(seen) and len(set(seen)) >= 3, seen  # answered mid-run, growing
    final = status_json(root)["symbols"][0]
    assert (final["hours"], final["complete"], final["missing"]) == (48, 48, 0)
