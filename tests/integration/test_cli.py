"""Integration tests of the ``aggtrades`` command-line tool.

Every test runs the real binary (``$AGT_BIN``, default ``<repo>/build/aggtrades``)
against the exchange simulator (``tools/binance_sim.py``) over loopback, with the
exchange clock frozen at ``NOW``, and checks what a user would notice: exit
statuses, what lands in the lake (compared with the simulator's truth), the
number of requests sent, the outputs (golden files in ``golden/``), the live
display under a pseudo-terminal and the plain log without one.

Set ``AGT_UPDATE_GOLDEN=1`` to rewrite the golden files from the current output.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGT_BIN", str(REPO / "build" / "aggtrades"))
SIM = REPO / "tools" / "binance_sim.py"
GOLDEN = Path(__file__).resolve().parent / "golden"
NOW = "2024-03-01T12:34:56Z"
UPDATE_GOLDEN = os.environ.get("AGT_UPDATE_GOLDEN") == "1"

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")


# --------------------------------------------------------------------------
# the simulator


# `start_sim_module` (tests/integration/conftest.py) starts tools/binance_sim.py and
# stops it at the end of the module; its SimProcess has control(), reset(),
# stats() and truth().


@pytest.fixture(scope="module")
def sim(start_sim_module: Any) -> Any:
    return start_sim_module("--now", NOW, "--weight-limit", "1000000")


@pytest.fixture()
def clean(sim: Any) -> Any:
    sim.reset()
    sim.control(weight_limit=1000000, fault_paths=["/api/v3/aggTrades", "/data/"])
    return sim


def data_requests(sim: Any) -> int:
    """/api/v3/aggTrades requests the simulator received so far."""
    return int(sim.stats()["data_requests"])


# --------------------------------------------------------------------------
# running the tool


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AGT_ROOT", "AGT_API_URL", "AGT_ARCHIVE_URL", "NO_COLOR")}
    env.update(extra)
    return env


def run(sim: Any, root: Path | str, *args: str, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = [BIN, "--root", str(root), "--interval-ms", "0"]
    if sim is not None:  # the simulator serves the archive too: never the real one
        cmd += ["--api-url", sim.url, "--archive-url", sim.url]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout,
                          env=env or child_env())


def run_pty(cmd: list[str], cols: int = 100, rows: int = 30,
            env: dict[str, str] | None = None) -> tuple[int, bytes, float]:
    """Run `cmd` with stdin/stdout/stderr on a pseudo-terminal; (status, output, seconds)."""
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execve(cmd[0], cmd, env or child_env())
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = b""
    while True:
        r, _, _ = select.select([fd], [], [], 120)
        if not r:
            os.kill(pid, signal.SIGKILL)
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out, time.monotonic() - t0


def day_us(day: str) -> int:
    d = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
    return (d - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def iso_us(text: str) -> int:
    d = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (d - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def lake_rows(root: Path, symbol: str, start: str, end: str) -> list[tuple[int, int, float, float, bool]]:
    """Every stored row of the window, through `query --output csv`."""
    p = run(None, root, "query", symbol, "--start", start, "--end", end, "--output", "csv")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "trade_id,timestamp,price,quantity,is_buyer_maker"
    rows = []
    for line in lines[1:]:
        a, t, price, qty, m = line.split(",")
        rows.append((int(a), iso_us(t), float(price), float(qty), m == "true"))
    return rows


def truth_rows(sim: Any, symbol: str, start_us: int, end_us: int) -> list[tuple[int, int, float, float, bool]]:
    return [(r["a"], r["T"], float(r["p"]), float(r["q"]), bool(r["m"]))
            for r in sim.truth(symbol, start_us, end_us)]


def assert_lake_equals_truth(sim: Any, root: Path, symbol: str, first_day: str, last_day: str) -> None:
    start, end = day_us(first_day), day_us(last_day) + 86_400_000_000 - 1
    got = lake_rows(root, symbol, first_day, last_day)
    want = truth_rows(sim, symbol, start, end)
    assert len(got) == len(want)
    assert got == want


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and mtime (to prove nothing was written)."""
    out = {}
    if root.exists():
        for p in sorted(root.rglob("*")):
            if p.is_file():
                st = p.stat()
                out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN or not path.exists():
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path} was missing and has been written; run again")
    assert text == path.read_text(), f"output differs from {path} (AGT_UPDATE_GOLDEN=1 rewrites)"


ESC = "\x1b"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")


# --------------------------------------------------------------------------
# help, version, completion


def test_help_lists_every_command(tmp_path: Path) -> None:
    p = run(None, tmp_path / "lake", "--help")
    assert p.returncode == 0
    for cmd in ("download", "update", "query", "retry", "verify", "completion"):
        assert f"  {cmd} " in p.stdout
    for opt in ("--root", "--api-url", "--archive-url", "--interval-ms", "--color",
                "--no-progress", "--quiet"):
        assert opt in p.stdout
    assert "Exit status" in p.stdout


@pytest.mark.parametrize("cmd", ["download", "update", "query", "retry", "verify", "completion"])
def test_command_help_has_examples(tmp_path: Path, cmd: str) -> None:
    p = run(None, tmp_path / "lake", cmd, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"usage: aggtrades {cmd}")
    assert "Example" in p.stdout
    assert not (tmp_path / "lake").exists()
    q = run(None, tmp_path / "lake", "help", cmd)
    assert q.returncode == 0 and q.stdout == p.stdout


def test_retry_format_is_documented(tmp_path: Path) -> None:
    for cmd in ("download", "retry"):
        p = run(None, tmp_path, cmd, "--help")
        for key in ('"symbol"', '"date"', '"hour"', '"error"', '"attempts"', '"time"'):
            assert key in p.stdout


def test_version() -> None:
    p = subprocess.run([BIN, "--version"], capture_output=True, text=True)
    assert p.returncode == 0
    assert re.fullmatch(r"aggtrades \d+\.\d+\.\d+ \(build \w+\)\n", p.stdout)


def test_completion_scripts(tmp_path: Path) -> None:
    p = run(None, tmp_path, "completion", "bash")
    assert p.returncode == 0
    assert "complete -F _aggtrades aggtrades cli" in p.stdout
    check = subprocess.run(["bash", "-n"], input=p.stdout, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # the function completes commands, then options of the command
    script = p.stdout + textwrap_complete("aggtrades qu", 1) + textwrap_complete("aggtrades query --st", 2)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "query"
    assert "--start" in out.stdout.split("\n")[1].split() and "--stats" in out.stdout.split("\n")[1].split()
    z = run(None, tmp_path, "completion", "zsh")
    assert z.returncode == 0 and z.stdout.startswith("#compdef aggtrades cli")
    bad = run(None, tmp_path, "completion", "fish")
    assert bad.returncode == 2 and bad.stderr == "aggtrades: unsupported shell 'fish' (expected bash or zsh)\n"


def test_source_option_is_documented_and_completed(tmp_path: Path) -> None:
    # --source belongs to the commands that fetch whole days; retry runs single hours
    for cmd in ("download", "update", "verify"):
        p = run(None, tmp_path, cmd, "--help")
        assert "--source SRC" in p.stdout and "archive" in p.stdout, cmd
    r = run(None, tmp_path, "retry", "--help")
    assert "no --source" in r.stdout and "fetches with rest, hour by hour" in r.stdout
    bash = run(None, tmp_path, "completion", "bash").stdout
    script = bash + "".join(textwrap_complete(f"aggtrades {cmd} --so", 2)
                            for cmd in ("download", "update", "verify", "retry"))
    script += textwrap_complete("aggtrades update BTCUSDT --source a", 4)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[:4] == ["--source", "--source", "--source", ""]
    assert lines[4].split() == ["auto", "archive"]
    zsh = run(None, tmp_path, "completion", "zsh").stdout
    assert zsh.count("--source[") == 3


def textwrap_complete(line: str, cword: int) -> str:
    words = line.split(" ")
    arr = " ".join(f"'{w}'" for w in words)
    return (f"\nCOMP_WORDS=({arr}); COMP_CWORD={cword}; COMPREPLY=(); _aggtrades;"
            f" echo \"${{COMPREPLY[*]}}\"\n")


# --------------------------------------------------------------------------
# bad input: one line naming the problem, exit 2 (or 3), nothing written


BAD_INPUT = [
    (["frobnicate"], 2, "aggtrades: unknown command 'frobnicate' (see 'aggtrades --help')"),
    (["download", "BTCUSDT", "--start", "2024-01-01", "--end", "2024-01-01", "--bogus"], 2,
     "aggtrades: unknown option '--bogus' (see 'aggtrades download --help')"),
    (["--colour", "never", "retry"], 2, "aggtrades: unknown option '--colour' (see 'aggtrades --help')"),
    (["download", "BTCUSDT", "--start", "2024-13-01", "--end", "2024-01-01"], 2,
     "aggtrades: invalid --start: '2024-13-01' is not a calendar date"),
    (["download", "BTCUSDT", "--start", "2024-01-05", "--end", "2024-01-01"], 2,
     "aggtrades: reversed range: --end '2024-01-01' is before --start '2024-01-05'"),
    (["download", "BTCUSDT", "--start", "2017-06-30", "--end", "2017-07-02"], 2,
     "aggtrades: --start '2017-06-30' is before 2017-07-01, the first day with aggregate trades"),
    (["download", "BTCUSDT", "--start", "2024-03-01", "--end", "2024-03-02"], 2,
     "aggtrades: end '2024-03-02' is in the future (the exchange's date is 2024-03-01)"),
    (["download", "BTC-USDT", "--start", "2024-01-01", "--end", "2024-01-01"], 2,
     "aggtrades: invalid symbol 'BTC-USDT' (expected 2 to 20 letters and digits, e.g. BTCUSDT)"),
    (["download", "BTCUSDT", "--start", "2024-01-01"], 2,
     "aggtrades: download needs --start and --end (see 'aggtrades download --help')"),
    (["download", "BTCUSDT", "--start", "2024-01-01 10:00", "--end", "2024-01-01"], 2,
     "aggtrades: invalid --start '2024-01-01 10:00' (download takes whole days: YYYY-MM-DD)"),
    (["download", "FOOBAR", "--start", "2024-01-01", "--end", "2024-01-01"], 2,
     "aggtrades: unknown symbol 'FOOBAR' (the exchange does not list it)"),
    (["download", "BTCUSDT", "--start", "2024-01-01", "--end", "2024-01-01", "--interval-ms", "x"], 2,
     "aggtrades: invalid --interval-ms 'x' (expected a whole number from 0 to 600000)"),
    (["--color", "sometimes", "retry"], 2,
     "aggtrades: invalid --color 'sometimes' (expected auto, always or never)"),
    (["query", "BTCUSDT", "--start", "2024-01-01", "--end", "2024-01-01", "--output", "xml"], 2,
     "aggtrades: invalid --output 'xml' (expected table, csv, json, jsonl or parquet)"),
    (["query", "BTCUSDT", "--start", "2024-01-02", "--end", "2024-01-01"], 2,
     "aggtrades: reversed range: --end '2024-01-01' is before --start '2024-01-02'"),
    (["query", "BTCUSDT", "--start", "yesterday", "--end", "2024-01-01"], 2,
     "aggtrades: invalid --start: cannot parse time 'yesterday' (expected YYYY-MM-DD or "
     "YYYY-MM-DD HH:MM:SS[.ffffff])"),
    (["update", "ETHUSDT"], 2,
     "aggtrades: nothing stored for 'ETHUSDT' in '{root}' (run 'aggtrades download' first or set --root)"),
    (["verify", "ETHUSDT", "BTCUSDT"], 2, "aggtrades: verify takes one symbol, not 2"),
]


@pytest.mark.parametrize("args,code,message", BAD_INPUT, ids=[" ".join(a[0:2]) for a, _, _ in BAD_INPUT])
def test_bad_input(clean: Any, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    root = tmp_path / "lake"
    before = data_requests(clean)
    p = run(clean, root, *args)
    assert p.returncode == code, p.stderr
    assert p.stderr == message.format(root=root) + "\n"
    assert p.stdout == ""
    assert not root.exists(), "bad input must write nothing"
    # only the unknown symbol needs the exchange to find out (one request)
    assert data_requests(clean) - before <= (1 if "FOOBAR" in args else 0)


def test_unwritable_root(clean: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    p = run(clean, blocker / "lake", "download", "ETHBTC", "--start", "2024-02-01", "--end", "2024-02-01")
    assert p.returncode == 3
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("aggtrades: ")
    assert str(blocker) in p.stderr
    assert blocker.read_text() == "not a directory"


def test_locked_lake(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    assert run(clean, root, "download", "ETHBTC", "--start", "2024-02-01", "--end", "2024-02-01").returncode == 0
    before = tree(root)
    with open(root / "metadata" / "_lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        requests = data_requests(clean)
        for args in (["download", "ETHBTC", "--start", "2024-02-02", "--end", "2024-02-02"],
                     ["update", "ETHBTC"], ["retry"], ["verify", "ETHBTC", "--repair"]):
            p = run(clean, root, *args)
            assert p.returncode == 3, (args, p.stderr)
            assert p.stderr.count("\n") == 1 and "locked" in p.stderr
        assert data_requests(clean) == requests
        # readers never wait for the writer
        q = run(None, root, "query", "ETHBTC", "--start", "2024-02-01", "--end", "2024-02-01", "--stats")
        assert q.returncode == 0
    assert tree(root) == before


# --------------------------------------------------------------------------
# download


def test_download_two_symbols_then_skip_complete_days(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    p = run(clean, root, "download", "BTCUSDT", "ETHUSDT", "--start", "2024-02-27", "--end", "2024-02-28")
    assert p.returncode == 0, p.stderr
    for sym in ("BTCUSDT", "ETHUSDT"):
        for day in (27, 28):
            d = root / f"symbol={sym}" / "year=2024" / "month=2" / f"day={day}"
            files = sorted(x.name for x in d.iterdir())
            hours = [f"{sym}_202402{day}_{h:02d}.parquet" for h in range(24)]
            assert set(files) <= set(hours) and len(files) >= 20  # empty hours have no file
        assert_lake_equals_truth(clean, root, sym, "2024-02-27", "2024-02-28")
    assert re.search(r"^BTCUSDT: 48 hours, [\d,]+ trades, ", p.stdout, re.M)
    assert re.search(r"^ETHUSDT: 48 hours, [\d,]+ trades, ", p.stdout, re.M)
    assert ESC not in p.stdout + p.stderr
    assert not (root / ".retry").exists()

    # a second run proves the days complete from the lake and asks nothing
    before = data_requests(clean)
    again = run(clean, root, "download", "ETHUSDT", "BTCUSDT", "--start", "2024-02-27", "--end", "2024-02-28")
    assert again.returncode == 0, again.stderr
    assert data_requests(clean) == before
    assert "BTCUSDT: 0 hours, 0 trades, 0 B in" in again.stdout
    assert "2 dates already complete" in again.stdout

    # a file present but incomplete in its ids is not "complete": only it is fetched again
    assert_lake_equals_truth(clean, root, "BTCUSDT", "2024-02-27", "2024-02-28")


def test_download_today_stores_incomplete_hours_then_refetches_only_them(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    p = run(clean, root, "download", "ETHBTC", "--start", "2024-03-01", "--end", "2024-03-01")
    assert p.returncode == 0, p.stderr
    # 00:00 .. 12:00 exist by the exchange's clock (12:34:56); nothing after
    assert p.stdout.startswith("ETHBTC: 13 hours, ")
    day = root / "symbol=ETHBTC" / "year=2024" / "month=3" / "day=1"
    assert not any(f.name.endswith(("_13.parquet", "_23.parquet")) for f in day.iterdir())
    before = data_requests(clean)
    again = run(clean, root, "download", "ETHBTC", "--start", "2024-03-01", "--end", "2024-03-01")
    assert again.returncode == 0
    assert again.stdout.startswith("ETHBTC: 1 hour, ")  # only the hour not yet ended
    assert 1 <= data_requests(clean) - before <= 3
    start = day_us("2024-03-01")
    got = lake_rows(root, "ETHBTC", "2024-03-01", "2024-03-01")
    assert got == truth_rows(clean, "ETHBTC", start, start + 86_400_000_000 - 1)


def test_plain_log_without_terminal(clean: Any, tmp_path: Path) -> None:
    p = run(clean, tmp_path / "lake", "download", "ETHBTC", "--start", "2024-02-10", "--end", "2024-02-11")
    assert p.returncode == 0
    assert ESC not in p.stderr and ESC not in p.stdout
    lines = p.stderr.splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines)
    assert "download: 1 symbol, 48 hours to fetch, 0/2 dates already complete" in lines[0]
    assert re.search(r"download ETHBTC 2024-02-10: [\d,]+ trades, [\d.]+ [kM]?B \(dates 1/2\)$", lines[1])
    assert re.search(r"download ETHBTC 2024-02-11: [\d,]+ trades, [\d.]+ [kM]?B \(dates 2/2\)$", lines[2])


def test_quiet(clean: Any, tmp_path: Path) -> None:
    p = run(clean, tmp_path / "lake", "--quiet", "download", "ETHBTC", "--start", "2024-02-12", "--end", "2024-02-12")
    assert p.returncode == 0
    assert p.stdout == "" and p.stderr == ""


# --------------------------------------------------------------------------
# the live display


def test_live_display_on_a_terminal(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    cmd = [BIN, "--root", str(root), "--api-url", clean.url, "--archive-url", clean.url,
           "--interval-ms", "20", "download", "BTCUSDT", "ETHBTC", "--start", "2024-02-20", "--end", "2024-02-21"]
    code, out, seconds = run_pty(cmd, env=child_env(LANG="C.UTF-8", TERM="xterm"))
    text = out.decode("utf-8", "replace")
    assert code == 0, text
    frames = text.split("\x1b[J")[1:]
    assert len(frames) >= 3
    # at most ~10 redraws a second (plus the final one)
    assert len(frames) <= 10 * seconds + 3
    middle = [f for f in frames if "now BTCUSDT" in f or "now ETHBTC" in f]
    assert middle, "the panel names the symbol and hour being fetched"
    f = middle[len(middle) // 2]
    assert re.search(r"total .*\[.*\] +\d+%", f), "overall bar"
    assert re.search(r"BTCUSDT .*\[.*\] +\d+%", f) and re.search(r"ETHBTC .*\[.*\] +\d+%", f), \
        "one bar per symbol"
    assert re.search(r"\d+\.\d+ MB/s", f) and "trades/s" in f and "ETA " in f
    assert re.search(r"dates \d/4", f)
    assert re.search(r"now (BTCUSDT|ETHBTC) 2024-02-2[01] \d\d:00", f)
    assert re.search(r"lake [\d.]+ [kM]?B on disk", f)
    sizes = [m.group(0) for m in re.finditer(r"lake [\d.]+ [kM]?B", text)]
    assert len(set(sizes)) > 2, "the lake size grows as hours are committed"
    last = frames[-1]
    assert "100%" in last and "dates 4/4" in last and "96/96 h" in last
    # the summary after the display
    assert re.search(r"BTCUSDT: 48 hours, [\d,]+ trades, [\d.]+ [kM]?B in ", last)
    assert re.search(r"ETHBTC: 48 hours, [\d,]+ trades", last)
    # every drawn line fits in the terminal's 100 columns
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert max(len(line) for line in plain.replace("\r", "\n").split("\n")) <= 100


def test_display_respects_no_color_and_no_progress(clean: Any, tmp_path: Path) -> None:
    base = [BIN, "--api-url", clean.url, "--archive-url", clean.url, "--interval-ms", "0"]
    args = ["download", "ETHBTC", "--start", "2024-02-14", "--end", "2024-02-14"]
    code, out, _ = run_pty(base + ["--root", str(tmp_path / "a")] + args,
                           env=child_env(NO_COLOR="1", TERM="xterm"))
    assert code == 0
    text = out.decode("utf-8", "replace")
    assert "\x1b[J" in text and "total" in text  # still drawn
    assert not re.search(r"\x1b\[[0-9;]*m", text), "no colour with NO_COLOR"
    code, out, _ = run_pty(base + ["--root", str(tmp_path / "b"), "--color", "always"] + args,
                           env=child_env(NO_COLOR="1", TERM="xterm"))
    assert re.search(r"\x1b\[3\dm", out.decode()), "--color always wins over NO_COLOR"
    code, out, _ = run_pty(base + ["--root", str(tmp_path / "c"), "--no-progress"] + args,
                           env=child_env(TERM="xterm"))
    text = out.decode()
    assert code == 0 and ESC not in text
    assert LOG_LINE.match(text)


# --------------------------------------------------------------------------
# query


@pytest.fixture(scope="module")
def query_lake(tmp_path_factory: pytest.TempPathFactory, sim: Any) -> Path:
    root = tmp_path_factory.mktemp("query") / "lake"
    sim.reset()
    p = run(sim, root, "download", "BTCUSDT", "--start", "2024-02-27", "--end", "2024-02-27")
    assert p.returncode == 0, p.stderr
    return root


def test_query_table_golden(query_lake: Path) -> None:
    p = run(None, query_lake, "query", "BTCUSDT", "--start", "2024-02-27 12:00:00", "--end", "2024-02-27 13:00")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 12  # header, 10 rows, the count
    assert re.fullmatch(r"\(10 of [\d,]+ trades of BTCUSDT from 2024-02-27 12:00:00 to "
                        r"2024-02-27 13:00:00 UTC\)", lines[-1])
    # aligned: numbers end, text columns start, at the header's positions
    head = lines[0]
    for line in lines[1:-1]:
        assert line.index(" 2024-02-27 ") + 1 == head.index("timestamp")
        assert re.search(r"(true|false)$", line).start() == head.index("is_buyer_maker")
        for col in ("trade_id", "price", "quantity"):
            end = head.index(col) + len(col)
            assert line[end - 1] != " " and line[end] == " "
    golden("query_table.txt", p.stdout)


def test_query_limit_and_empty(query_lake: Path) -> None:
    p = run(None, query_lake, "query", "BTCUSDT", "--start", "2024-02-27", "--end", "2024-02-27", "--limit", "3")
    assert len(p.stdout.splitlines()) == 5
    e = run(None, query_lake, "query", "BTCUSDT", "--start", "2020-01-01", "--end", "2020-01-01")
    assert e.returncode == 0
    assert e.stdout == ("no trades of BTCUSDT from 2020-01-01 00:00:00 to "
                        "2020-01-01 23:59:59.999999 (UTC)\n")


def test_query_stats_golden(sim: Any, query_lake: Path) -> None:
    p = run(None, query_lake, "query", "BTCUSDT", "--start", "2024-02-27", "--end", "2024-02-27", "--stats")
    assert p.returncode == 0, p.stderr
    golden("query_stats.txt", p.stdout)
    # the figures agree with the simulator's truth
    want = sim.truth("BTCUSDT", day_us("2024-02-27"), day_us("2024-02-28") - 1)
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in p.stdout.splitlines())
    assert fields["trades"] == f"{len(want):,}"
    assert fields["trade ids"] == f"{want[0]['a']} .. {want[-1]['a']}"
    qty = sum(float(r["q"]) for r in want)
    quote = sum(float(r["p"]) * float(r["q"]) for r in want)
    assert float(fields["quantity"]) == pytest.approx(qty, rel=1e-12)
    assert float(fields["quote volume"]) == pytest.approx(quote, rel=1e-12)
    assert float(fields["vwap"]) == pytest.approx(quote / qty, rel=1e-12)
    share = sum(1 for r in want if r["m"]) / len(want)
    assert fields["buyer-maker"].startswith(f"{share * 100:.1f}%")
    j = run(None, query_lake, "query", "BTCUSDT", "--start", "2024-02-27", "--end", "2024-02-27",
            "--stats", "--output", "json")
    doc = json.loads(j.stdout)
    assert doc["count"] == len(want) and doc["first_id"] == want[0]["a"]
    assert iso_us(doc["last_trade"]) == want[-1]["T"]


def test_query_csv_of_a_millisecond_window_golden(sim: Any, query_lake: Path) -> None:
    start, end = "2024-02-27 12:30:00.500", "2024-02-27 12:35:00"
    p = run(None, query_lake, "query", "BTCUSDT", "--start", start, "--end", end, "--output", "csv")
    assert p.returncode == 0, p.stderr
    golden("query_window.csv", p.stdout)
    want = truth_rows(sim, "BTCUSDT", iso_us("2024-02-27T12:30:00.500Z"), iso_us("2024-02-27T12:35:00Z"))
    got = lake_rows(query_lake, "BTCUSDT", start, end)
    assert got == want and len(got) > 10


def test_query_json_golden_and_file(sim: Any, query_lake: Path, tmp_path: Path) -> None:
    args = ["query", "BTCUSDT", "--start", "2024-02-27T12:30:00Z", "--end", "2024-02-27T12:35:00Z",
            "--output", "json"]
    p = run(None, query_lake, *args, "--limit", "5")
    assert p.returncode == 0, p.stderr
    golden("query_limit5.json", p.stdout)
    rows = json.loads(p.stdout)
    assert len(rows) == 5 and list(rows[0]) == ["trade_id", "timestamp", "price", "quantity", "is_buyer_maker"]
    out = tmp_path / "out.json"
    f = run(None, query_lake, *args, "--file", str(out))
    assert f.returncode == 0 and f.stdout == ""
    full = json.loads(out.read_text())
    want = sim.truth("BTCUSDT", iso_us("2024-02-27T12:30:00Z"), iso_us("2024-02-27T12:35:00Z"))
    assert [r["trade_id"] for r in full] == [r["a"] for r in want]
    assert [iso_us(r["timestamp"]) for r in full] == [r["T"] for r in want]
    assert [r["price"] for r in full] == [float(r["p"]) for r in want]


def test_query_closed_pipe_is_not_an_error(query_lake: Path) -> None:
    cmd = f"'{BIN}' --root '{query_lake}' query BTCUSDT --start 2024-02-27 --end 2024-02-27 --output csv | head -2"
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert len(p.stdout.splitlines()) == 2


def test_query_without_lake(tmp_path: Path) -> None:
    p = run(None, tmp_path / "none", "query", "BTCUSDT", "--start", "2024-01-01", "--end", "2024-01-01")
    assert p.returncode == 2  # bad input, as for status and retry
    assert p.stderr == f"aggtrades: no lake at '{tmp_path / 'none'}' (run 'aggtrades download' first or set --root)\n"


# --------------------------------------------------------------------------
# update


def newest_trade(root: Path, symbol: str) -> int:
    p = run(None, root, "query", symbol, "--start", "2017-07-01", "--end", "2024-03-01", "--stats",
            "--output", "json")
    return iso_us(json.loads(p.stdout)["last_trade"])


def test_update_then_force_records_changes(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    assert run(clean, root, "download", "ETHBTC", "--start", "2024-02-28", "--end", "2024-02-28").returncode == 0
    p = run(clean, root, "update", "ETHBTC")
    assert p.returncode == 0, p.stderr
    # everything after the newest stored trade up to the exchange's now (12:34:56)
    assert p.stdout.startswith("ETHBTC: 37 hours, ")
    now = iso_us(NOW)
    want = clean.truth("ETHBTC", day_us("2024-02-28"), now)
    assert newest_trade(root, "ETHBTC") == want[-1]["T"]
    assert_lake_equals_truth(clean, root, "ETHBTC", "2024-02-28", "2024-02-29")

    # update again: only the hour that had not ended is fetched again
    before = data_requests(clean)
    q = run(clean, root, "update", "ETHBTC")
    assert q.returncode == 0 and q.stdout.startswith("ETHBTC: 1 hour, ")
    assert data_requests(clean) - before <= 2

    # --force: every stored hour is fetched again and merged; a stored hour whose
    # values differ from the exchange's (here: prices doubled behind the lake's
    # back) is overwritten, and the change feed records before and after images
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pc = pytest.importorskip("pyarrow.compute")
    hour_file = root / "symbol=ETHBTC" / "year=2024" / "month=2" / "day=29" / "ETHBTC_20240229_03.parquet"
    t = pq.read_table(hour_file)
    t = t.set_column(2, "price", pc.multiply(t.column("price"), pa.scalar(2.0)))
    pq.write_table(t, hour_file, compression="zstd")
    changes = root / "metadata" / "_changes" / "symbol=ETHBTC"
    old_versions = set(changes.iterdir())
    f = run(clean, root, "update", "ETHBTC", "--force")
    assert f.returncode == 0, f.stderr
    assert f.stdout.startswith("ETHBTC: 61 hours, ")
    assert f", {t.num_rows:,} updated" in f.stdout
    assert_lake_equals_truth(clean, root, "ETHBTC", "2024-02-28", "2024-02-29")
    new_files = sorted(set(changes.iterdir()) - old_versions)
    assert len(new_files) == 61  # one change file per commit
    rows = [r for fp in new_files for r in pq.read_table(fp).to_pylist()]
    pre = {r["trade_id"]: r for r in rows if r["_change_type"] == "update_preimage"}
    post = {r["trade_id"]: r for r in rows if r["_change_type"] == "update_postimage"}
    assert set(pre) == set(post) == set(t.column("trade_id").to_pylist())
    truth = {r["a"]: r for r in clean.truth("ETHBTC", day_us("2024-02-29"), day_us("2024-03-01"))}
    for tid, r in post.items():
        assert r["price"] == float(truth[tid]["p"])
        assert pre[tid]["price"] == 2 * r["price"]


# --------------------------------------------------------------------------
# retry


def test_failed_units_go_to_retry_then_retry_fixes_them(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    # four 500s: every attempt of one page fails (the client tries 4 times)
    clean.control(next=["500json"] * 4)
    p = run(clean, root, "download", "ETHBTC", "BNBUSDT", "--start", "2024-02-05", "--end", "2024-02-05",
            "--source", "rest")  # hour by hour: the faults hit one page
    assert p.returncode == 1, p.stderr
    assert p.stderr.endswith(f"aggtrades: 1 hour failed and is recorded in '{root}/.retry'; "
                             "run 'aggtrades retry' later\n")
    lines = (root / ".retry").read_text().splitlines()
    assert len(lines) == 1
    unit = json.loads(lines[0])
    assert list(unit) == ["symbol", "date", "hour", "error", "attempts", "time"]
    assert unit["symbol"] == "ETHBTC" and unit["date"] == "2024-02-05" and unit["hour"] == 0
    assert unit["attempts"] == 4 and "500" in unit["error"]
    assert "1 failed (in .retry)" in p.stdout
    # the rest of the run carried on
    assert_lake_equals_truth(clean, root, "BNBUSDT", "2024-02-05", "2024-02-05")

    # a retry that fails again keeps the unit and counts the attempts
    clean.control(next=["503json"] * 4)
    r1 = run(clean, root, "retry")
    assert r1.returncode == 1
    unit2 = json.loads((root / ".retry").read_text())
    assert unit2["attempts"] == 8 and "503" in unit2["error"]

    r2 = run(clean, root, "retry")
    assert r2.returncode == 0, r2.stderr
    assert not (root / ".retry").exists()
    assert_lake_equals_truth(clean, root, "ETHBTC", "2024-02-05", "2024-02-05")
    r3 = run(clean, root, "retry")
    assert r3.returncode == 0 and r3.stdout == f"nothing to retry in '{root}'\n"


def test_random_faults_end_equal_to_truth(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    clean.control(fault_rate=0.6, faults=["500json", "503json", "502html", "reset", "truncate"], seed=5)
    p = run(clean, root, "download", "ETHBTC", "--start", "2024-02-07", "--end", "2024-02-07")
    assert p.returncode in (0, 1), p.stderr
    clean.control(fault_rate=0)
    for _ in range(3):
        if not (root / ".retry").exists():
            break
        assert run(clean, root, "retry").returncode in (0, 1)
    assert not (root / ".retry").exists()
    assert_lake_equals_truth(clean, root, "ETHBTC", "2024-02-07", "2024-02-07")


# --------------------------------------------------------------------------
# verify


def test_verify_finds_a_deleted_file_and_a_hole_then_repairs(clean: Any, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    root = tmp_path / "lake"
    assert run(clean, root, "download", "ETHBTC", "--start", "2024-02-20", "--end", "2024-02-20").returncode == 0
    ok = run(None, root, "verify", "ETHBTC")
    assert ok.returncode == 0
    assert ok.stdout == "ETHBTC: 24 hours from 2024-02-20 00:00 to 2024-02-20 23:59 verified, no problems\n"

    day = root / "symbol=ETHBTC" / "year=2024" / "month=2" / "day=20"
    (day / "ETHBTC_20240220_05.parquet").unlink()
    holed = day / "ETHBTC_20240220_07.parquet"
    t = pq.read_table(holed)
    pq.write_table(pa.concat_tables([t.slice(0, 10), t.slice(12)]), holed, compression="zstd")

    bad = run(None, root, "verify", "ETHBTC")
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert any(line.startswith("ETHBTC 2024-02-20 05:00  missing") for line in lines)
    assert any(line.startswith("ETHBTC 2024-02-20 07:00  id gap") for line in lines)
    assert lines[-1].startswith("ETHBTC: 24 hours from 2024-02-20 00:00 to 2024-02-20 23:59 verified, ")
    assert bad.stderr == "aggtrades: problems found; run 'aggtrades verify ETHBTC --repair' to fetch them again\n"

    before = data_requests(clean)
    fix = run(clean, root, "verify", "ETHBTC", "--repair")
    assert fix.returncode == 0, fix.stderr
    assert fix.stdout.splitlines()[-1] == \
        "ETHBTC: 24 hours from 2024-02-20 00:00 to 2024-02-20 23:59 verified, no problems"
    assert data_requests(clean) - before <= 6  # the two hours only
    assert run(None, root, "verify", "ETHBTC").returncode == 0
    assert_lake_equals_truth(clean, root, "ETHBTC", "2024-02-20", "2024-02-20")


# --------------------------------------------------------------------------
# Ctrl-C


def test_interrupt_keeps_committed_hours_and_resumes(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    clean.control(next=["stall:0.3"] * 400, fault_paths=["/api/v3/aggTrades"])
    cmd = [BIN, "--root", str(root), "--api-url", clean.url, "--archive-url", clean.url,
           "--interval-ms", "0", "download", "BNBUSDT", "--start", "2024-02-10", "--end", "2024-02-11",
           "--source", "rest"]  # hour by hour, so Ctrl-C lands between hours
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "aggtrades: interrupted; committed hours are kept, run 'aggtrades " in err
    assert "again to resume" in err
    m = re.match(r"BNBUSDT: (\d+) hours?, ", out)
    assert m and 0 < int(m.group(1)) < 48, out
    clean.control(next=[])
    clean.reset()
    again = run(clean, root, "download", "BNBUSDT", "--start", "2024-02-10", "--end", "2024-02-11")
    assert again.returncode == 0
    done = int(re.match(r"BNBUSDT: (\d+) hours?, ", again.stdout).group(1))
    assert done == 48 - int(m.group(1))
    assert_lake_equals_truth(clean, root, "BNBUSDT", "2024-02-10", "2024-02-11")


def test_second_interrupt_quits_at_once(clean: Any, tmp_path: Path) -> None:
    clean.control(next=["stall:20"], fault_paths=["/api/v3/aggTrades"])
    cmd = [BIN, "--root", str(tmp_path / "lake"), "--api-url", clean.url, "--archive-url", clean.url,
           "download", "BNBUSDT", "--start", "2024-02-12", "--end", "2024-02-12", "--source", "rest"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 3  # not 20 s: the stalled request is abandoned
    assert proc.returncode == 130
    assert "interrupted" in err
    clean.reset()
