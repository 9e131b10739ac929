"""Bad input and failing environments: one clear line, the right exit status, nothing written.

Every case runs the real binary (``$AGT_BIN``) against the exchange simulator and checks
what a user (or a script) sees: the exit status of the contract (2 bad usage or input,
3 lake locked / unreadable / disk failure), exactly one line on stderr of the form
``aggtrades: <lower-case message>`` without a final full stop, nothing on stdout, and
an unchanged lake (every file's size and mtime compared before and after).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGT_BIN", str(REPO / "build" / "aggtrades"))
NOW = "2024-03-01T12:34:56Z"

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")


@pytest.fixture(scope="module")
def sim(start_sim_module: Any) -> Any:
    return start_sim_module("--now", NOW, "--weight-limit", "1000000")


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if k not in ("AGT_ROOT", "AGT_API_URL", "AGT_ARCHIVE_URL", "NO_COLOR")}
    return e


def run(sim: Any, root: Path | str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = [BIN, "--root", str(root), "--interval-ms", "0"]
    if sim is not None:
        cmd += ["--api-url", sim.url, "--archive-url", sim.url]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout, env=env())


def tree(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    if root.exists():
        for p in sorted(root.rglob("*")):
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns if p.is_file() else 0)
    return out


def assert_one_error_line(stderr: str, *needles: str) -> str:
    """stderr is exactly one line "aggtrades: ..." in the house style; returns the message."""
    assert stderr.endswith("\n") and stderr.count("\n") == 1, repr(stderr)
    line = stderr[:-1]
    assert line.startswith("aggtrades: "), line
    msg = line[len("aggtrades: "):]
    assert msg[:1] == msg[:1].lower(), f"starts in lower case: {line}"
    assert not msg.endswith("."), f"no final full stop: {line}"
    for n in needles:
        assert n in msg, (n, line)
    return msg


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, sim: Any) -> Path:
    """A small lake (ETHBTC, one day) the bad commands run against."""
    root = tmp_path_factory.mktemp("errors") / "lake"
    sim.reset()
    p = run(sim, root, "download", "ETHBTC", "--start", "2024-02-01", "--end", "2024-02-01")
    assert p.returncode == 0, p.stderr
    return root


# --------------------------------------------------------------------------
# bad usage and input: exit 2, one line, nothing written, no request sent

D = ["--start", "2024-02-01", "--end", "2024-02-01"]
BAD = [
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["download", "ETHBTC", *D, "--bogus"], "unknown option '--bogus'"),
    (["--bogus", "query"], "unknown option '--bogus'"),
    (["download", "ETHBTC", "--start"], "option '--start' needs a value"),
    (["query", "ETHBTC", "--start", "2024-02-01", "--end"], "option '--end' needs a value"),
    (["download", "ETHBTC", "--start", "2023-02-30", "--end", "2023-03-01"],
     "'2023-02-30' is not a calendar date"),
    (["query", "ETHBTC", "--start", "2024-02-29", "--end", "2023-02-29"], "'2023-02-29' is not a calendar date"),
    (["download", "ETHBTC", "--start", "2024-02-02", "--end", "2024-02-01"], "reversed range"),
    (["query", "ETHBTC", "--start", "2024-02-01 10:00", "--end", "2024-02-01 09:59:59.999999"],
     "reversed range"),
    (["query", "ETHBTC", "--start", "2024-02-01 10:00:00.1234567", "--end", "2024-02-02"],
     "has 7 fraction digits (at most 6"),
    (["query", "ETHBTC", *D, "--limit", "-1"], "invalid --limit '-1'"),
    (["query", "ETHBTC", *D, "--limit", "ten"], "invalid --limit 'ten'"),
    (["query", "ETHBTC", *D, "--output", "xml"], "invalid --output 'xml' (expected table, csv, json, jsonl or parquet)"),
    (["query", "ETHBTC", *D, "--stats", "--output", "csv"], "--stats prints a table, json or jsonl, not csv"),
    (["query", "ETHBTC", "--start", "2024-02-01T10:00:00+02:00", "--end", "2024-02-02"],
     "cannot parse time"),
    (["download", "", *D], "empty symbol"),
    (["download", *D], "download needs at least one symbol"),
    (["query", *D], "query needs a symbol"),
    (["download", "BTC/USDT", *D], "invalid symbol 'BTC/USDT'"),
    (["--color", "sometimes", "query", "ETHBTC", *D], "invalid --color 'sometimes'"),
    (["--interval-ms", "-5", "retry"], "invalid --interval-ms '-5'"),
    (["download", "ETHBTC", "--start", "2024-03-01", "--end", "2024-03-02"], "is in the future"),
    (["completion", "fish"], "unsupported shell 'fish'"),
    (["retry", "extra"], "retry takes no arguments"),
    (["--api-url", "ftp://127.0.0.1:9", "download", "ETHBTC", *D], "invalid api url 'ftp://127.0.0.1:9'"),
    # --file: one rule, a directory is as bad as a path in a missing directory (was exit 3)
    (["query", "ETHBTC", *D, "--output", "csv", "--file", "/"], "cannot write '/': it is a directory"),
    (["query", "ETHBTC", *D, "--output", "csv", "--file", "/nonexistent/x.csv"],
     "cannot write '/nonexistent/x.csv': No such file or directory"),
]


@pytest.mark.parametrize("args,needle", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_one_line_nothing_written(sim: Any, lake: Path, args: list[str], needle: str) -> None:
    before = tree(lake)
    requests = int(sim.stats()["data_requests"])
    p = run(sim, lake, *args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert_one_error_line(p.stderr, needle)
    assert p.stdout == ""
    assert tree(lake) == before
    assert int(sim.stats()["data_requests"]) == requests


def test_bad_input_on_a_new_root_creates_nothing(sim: Any, tmp_path: Path) -> None:
    root = tmp_path / "new"
    for args, _ in BAD:
        p = run(sim, root, *args)
        assert p.returncode == 2
        assert not root.exists(), args


def test_lower_case_symbols_are_accepted_and_upper_cased(sim: Any, lake: Path) -> None:
    lower = run(sim, lake, "query", "ethbtc", *D, "--stats")
    upper = run(sim, lake, "query", "ETHBTC", *D, "--stats")
    assert lower.returncode == 0 and lower.stderr == ""
    assert lower.stdout == upper.stdout
    assert "symbol         ETHBTC" in lower.stdout


# --------------------------------------------------------------------------
# the lake cannot be used: exit 3


@pytest.mark.parametrize("args", [
    ["download", "ETHBTC", *D], ["update", "ETHBTC"], ["retry"], ["query", "ETHBTC", *D],
    ["verify", "ETHBTC"], ["verify", "ETHBTC", "--repair"]], ids=lambda a: a[0] + ("-repair" if "--repair" in a else ""))
def test_root_that_is_a_file(sim: Any, tmp_path: Path, args: list[str]) -> None:
    f = tmp_path / "file"
    f.write_text("not a lake")
    p = run(sim, f, *args)
    assert p.returncode == 3, p.stderr
    assert_one_error_line(p.stderr, str(f), "not a directory")
    assert p.stdout == ""
    assert f.read_text() == "not a lake"


def _read_only_dir(tmp_path: Path) -> Path:
    d = tmp_path / "ro"
    d.mkdir()
    if os.geteuid() != 0:
        d.chmod(0o500)
        return d
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(d)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"root ignores permissions and mounting a read-only tmpfs failed: {r.stderr.strip()}")
    return d


def test_unwritable_root(sim: Any, tmp_path: Path) -> None:
    d = _read_only_dir(tmp_path)
    try:
        requests = int(sim.stats()["data_requests"])
        for root in (d, d / "lake"):
            p = run(sim, root, "download", "ETHBTC", *D)
            assert p.returncode == 3, p.stderr
            assert_one_error_line(p.stderr, str(d))
            assert p.stdout == ""
        assert int(sim.stats()["data_requests"]) == requests, "checked before any request"
        assert list(d.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(d)], check=False)
        else:
            d.chmod(0o700)


def test_locked_by_another_writer(sim: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    assert run(sim, root, "download", "ETHBTC", *D).returncode == 0
    sim.control(next=["stall:3"] * 50, fault_paths=["/api/v3/aggTrades"])
    writer = subprocess.Popen(
        [BIN, "--root", str(root), "--api-url", sim.url, "--archive-url", sim.url, "--quiet",
         "download", "ETHBTC", "--start", "2024-02-02", "--end", "2024-02-02",
         # REST hour by hour, so the stalls keep the writer (and its lock) alive;
         # from the archive the old day would be done in three requests
         "--source", "rest"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
    try:
        # the writer takes the lock once its first hour has arrived; watch the
        # pid it writes into the lock file (probing with another writer could
        # take the lock first and make the writer itself fail)
        lock = root / "metadata" / "_lock"
        deadline = time.monotonic() + 30
        while lock.read_text().strip() != str(writer.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert writer.poll() is None, "the writer finished before the lock could be tested"
        before = tree(root / "symbol=ETHBTC")
        for args in (["download", "ETHBTC", "--start", "2024-02-03", "--end", "2024-02-03"],
                     ["update", "ETHBTC"], ["retry"],
                     ["verify", "ETHBTC", "--repair"]):
            p = run(sim, root, *args)
            assert p.returncode == 3, (args, p.stderr)
            assert_one_error_line(p.stderr, f"'{root}' is locked by pid {writer.pid}")
        # readers never wait for the writer
        q = run(None, root, "query", "ETHBTC", *D, "--stats")
        assert q.returncode == 0 and "trades " in q.stdout
        assert tree(root / "symbol=ETHBTC") == before
    finally:
        writer.send_signal(signal.SIGINT)
        writer.wait(30)
        sim.reset()


# --------------------------------------------------------------------------
# a damaged data file: exit 3 naming the file, never a crash


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
@pytest.mark.parametrize("mode", [[], ["--stats"], ["--output", "csv"], ["--output", "json"]],
                         ids=["table", "stats", "csv", "json"])
def test_corrupt_file_under_query(lake: Path, tmp_path: Path, damage: str, mode: list[str]) -> None:
    root = tmp_path / "lake"
    shutil.copytree(lake, root)
    f = next((root / "symbol=ETHBTC" / "year=2024" / "month=2" / "day=1").glob("*_05.parquet"))
    data = bytearray(f.read_bytes())
    if damage == "flip":
        for i in range(100, min(len(data) - 100, 3000)):
            data[i] ^= 0x5A
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray()
    f.write_bytes(bytes(data))
    before = tree(root)
    p = run(None, root, "query", "ETHBTC", "--start", "2024-02-01 05:00", "--end", "2024-02-01 06:00", *mode)
    if mode == ["--stats"] and damage == "flip":
        # the damaged hour lies wholly inside the window: --stats answers it from
        # the statistics index without reading it (the same figures as before);
        # only a file of another size than recorded (truncated, emptied) is read,
        # and found damaged: the index never answers for a file that is not there
        good = run(None, lake, "query", "ETHBTC", "--start", "2024-02-01 05:00", "--end", "2024-02-01 06:00", *mode)
        assert p.returncode == 0 and p.stdout == good.stdout, (p.returncode, p.stderr)
    else:
        assert p.returncode == 3, (p.returncode, p.stderr)
        assert_one_error_line(p.stderr, f.name)
    assert tree(root) == before
    v = run(None, root, "verify", "ETHBTC")
    assert v.returncode == 1 and f.name in v.stdout


# --------------------------------------------------------------------------
# a full disk: exit 3, "no space left", and the lake stays consistent


@pytest.fixture()
def small_disk(tmp_path: Path) -> Any:
    d = tmp_path / "small"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(d)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a 2 MB tmpfs (needs root): {r.stderr.strip() or r.returncode}")
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


def _fill(sim: Any, small: Path) -> subprocess.CompletedProcess[str]:
    sim.reset()
    return run(sim, small / "lake", "--quiet", "download", "BTCUSDT", "--start", "2024-02-10",
               "--end", "2024-02-16")


def test_full_disk_fails_with_exit_3_and_keeps_committed_hours(sim: Any, small_disk: Path, tmp_path: Path) -> None:
    p = _fill(sim, small_disk)
    assert p.returncode == 3, p.stderr
    first = p.stderr.splitlines()[0]
    assert first.startswith("aggtrades: ") and "no space left" in first.lower(), p.stderr
    # on a bigger disk, a query shows whole hours, equal to the exchange's, from the first on
    big = tmp_path / "big"
    shutil.copytree(small_disk / "lake", big)
    q = run(None, big, "query", "BTCUSDT", "--start", "2024-02-10", "--end", "2024-02-16", "--output", "csv")
    assert q.returncode == 0, q.stderr
    ids = [int(r.split(",")[0]) for r in q.stdout.splitlines()[1:]]
    assert ids, "some hours were committed before the disk filled"
    start = 1707523200_000000  # 2024-02-10
    truth = sim.truth("BTCUSDT", start, start + 7 * 86400_000000 - 1)
    assert ids == [t["a"] for t in truth[: len(ids)]], "a gapless prefix of the truth"
    assert truth[len(ids)]["T"] // 3600_000000 > truth[len(ids) - 1]["T"] // 3600_000000, "whole hours"
    # the stored hours keep their bytes once the disk has room: a writer recovers and carries on
    sim.reset()
    again = run(sim, big, "--quiet", "download", "BTCUSDT", "--start", "2024-02-10", "--end", "2024-02-16")
    assert again.returncode == 0, again.stderr
    v = run(None, big, "verify", "BTCUSDT")
    assert v.returncode == 0, v.stdout + v.stderr
    full = run(None, big, "query", "BTCUSDT", "--start", "2024-02-10", "--end", "2024-02-16", "--output", "csv")
    assert [int(r.split(",")[0]) for r in full.stdout.splitlines()[1:]] == [t["a"] for t in truth]


def test_full_disk_then_read_only_verify_is_clean(sim: Any, small_disk: Path, tmp_path: Path) -> None:
    assert _fill(sim, small_disk).returncode == 3
    big = tmp_path / "big"
    shutil.copytree(small_disk / "lake", big)
    v = run(None, big, "verify", "BTCUSDT")
    assert v.returncode == 0, v.stdout + v.stderr


def test_full_disk_is_one_line(sim: Any, small_disk: Path) -> None:
    p = _fill(sim, small_disk)
    assert p.returncode == 3
    assert_one_error_line(p.stderr, "No space left")
