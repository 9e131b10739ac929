"""The live display under a pseudo-terminal, and colour and quiet on pipes.

What a user at a terminal would notice: the cursor is hidden while the block is drawn
and always given back (on success, on Ctrl-C, on a second Ctrl-C, on an error); the
block is redrawn at most about 10 times a second and once more at 100 %; every line
fits the terminal's width (TIOCGWINSZ), also after the window is resized mid-run;
NO_COLOR and --color never give no SGR codes; --color always on a pipe gives colour
but never cursor movement; --quiet prints nothing on success.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGT_BIN", str(REPO / "build" / "aggtrades"))
NOW = "2024-03-01T12:34:56Z"

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")

HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"
SGR = re.compile(r"\x1b\[[0-9;]*m")
CURSOR_MOVES = re.compile(r"\x1b\[(\d*[ABCDHJK]|\?25[lh])")
ANY_CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def sim(start_sim_module: Any) -> Any:
    return start_sim_module("--now", NOW, "--weight-limit", "1000000")


@pytest.fixture()
def clean(sim: Any) -> Any:
    sim.reset()
    yield sim
    sim.reset()


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if k not in ("AGT_ROOT", "AGT_API_URL", "AGT_ARCHIVE_URL", "NO_COLOR", "COLUMNS")}
    e.update({"TERM": "xterm", "LANG": "C.UTF-8"})
    e.update(extra)
    return e


def cmd(sim: Any, root: Path, *args: str, interval: str = "0") -> list[str]:
    return [BIN, "--root", str(root), "--api-url", sim.url, "--archive-url", sim.url,
            "--interval-ms", interval, *args]


def set_size(fd: int, cols: int, rows: int = 30) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def run_pty(argv: list[str], cols: int = 100, rows: int = 30, environ: dict[str, str] | None = None,
            during: Callable[[int, int, float], None] | None = None,
            ) -> tuple[int, list[tuple[float, str]], float]:
    """Run argv on a pseudo-terminal of cols x rows. `during(pid, fd, t)` is called as
    output arrives. Returns (exit status, [(seconds, chunk)], seconds)."""
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, environ or env())
        finally:
            os._exit(127)
    set_size(fd, cols, rows)
    chunks: list[tuple[float, str]] = []
    last = time.monotonic()
    while True:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            if during:
                during(pid, fd, time.monotonic() - t0)
            if time.monotonic() - last > 60:
                os.kill(pid, signal.SIGKILL)
                break
            continue
        last = time.monotonic()
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        t = time.monotonic() - t0
        chunks.append((t, data.decode("utf-8", "replace")))
        if during:
            during(pid, fd, t)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), chunks, time.monotonic() - t0


def text_of(chunks: list[tuple[float, str]]) -> str:
    return "".join(c for _, c in chunks)


def frames(text: str) -> list[str]:
    """Each redraw starts by clearing to the end of the screen."""
    return text.split("\x1b[J")[1:]


def visible_lines(frame: str) -> list[str]:
    plain = ANY_CSI.sub("", frame).replace("\r\n", "\n").replace("\r", "\n")
    return [line for line in plain.split("\n")]


def cursor_restored(text: str) -> bool:
    return HIDE in text and text.rfind(SHOW) > text.rfind(HIDE)


def slow(sim: Any, seconds: float = 0.15, n: int = 2000) -> None:
    sim.control(next=[f"stall:{seconds}"] * n, fault_paths=["/api/v3/aggTrades"])


DL = ["download", "ETHBTC", "BNBUSDT", "--source", "rest", "--start", "2024-02-20", "--end", "2024-02-21"]


def test_cursor_rate_final_frame_and_width(clean: Any, tmp_path: Path) -> None:
    slow(clean, 0.02)
    code, chunks, seconds = run_pty(cmd(clean, tmp_path / "lake", *DL), cols=100)
    text = text_of(chunks)
    assert code == 0, text
    assert cursor_restored(text), "the cursor is hidden while drawing and shown at the end"
    fr = frames(text)
    assert len(fr) >= 5
    # at most ~10 redraws in any second (measured from when frames arrived)
    times = [t for t, c in chunks for _ in range(c.count("\x1b[J"))]
    worst = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    assert worst <= 12, f"{worst} redraws within one second"
    assert len(fr) <= 10 * seconds + 3
    # the final frame is at 100 %, then the summary
    last = SGR.sub("", fr[-1])
    assert re.search(r"total +\[█+\] 100%  96/96 h", last)
    assert re.search(r"ETHBTC +\[█+\] 100%  48/48 h .* done", last)
    assert "dates 4/4" in last
    assert re.search(r"^ETHBTC: 48 hours, [\d,]+ trades", ANY_CSI.sub("", last), re.M)
    assert re.search(r"^total: 96 hours, [\d,]+ trades", ANY_CSI.sub("", last), re.M)
    for f in fr:
        for line in visible_lines(f):
            assert len(line) <= 99, line
    # one write per frame: a frame never arrives in pieces over many reads
    assert sum(1 for _, c in chunks if "\x1b[J" in c) >= len(fr) * 0.8


@pytest.mark.parametrize("cols", [40, 60, 80, 132, 200])
def test_lines_fit_the_terminal(clean: Any, tmp_path: Path, cols: int) -> None:
    code, chunks, _ = run_pty(cmd(clean, tmp_path / "lake", "download", "ETHBTC", "--source", "rest",
                                  "--start", "2024-02-22", "--end", "2024-02-22"), cols=cols)
    text = text_of(chunks)
    assert code == 0, text
    fr = frames(text)
    assert fr
    for f in fr[:-1]:
        for line in visible_lines(f):
            assert len(line) <= cols - 1, (cols, line)
    block = [line for line in visible_lines(fr[-1]) if line.startswith("  ")]
    assert all(len(line) <= cols - 1 for line in block)
    bars = [line for line in block if "[" in line]
    if cols >= 60:
        assert bars, "a bar is drawn from 60 columns on"
        assert len({line.index("]") for line in bars}) == 1, "bars line up"
    if cols >= 132:
        assert max(line.index("]") - line.index("[") - 1 for line in bars) == 40, "bars are at most 40 wide"


def test_resize_mid_run(clean: Any, tmp_path: Path) -> None:
    slow(clean, 0.05)
    state: dict[str, float] = {}

    def during(pid: int, fd: int, t: float) -> None:
        if "resized" not in state and t > 1.0:
            set_size(fd, 60)  # the kernel sends SIGWINCH
            state["resized"] = t

    code, chunks, _ = run_pty(cmd(clean, tmp_path / "lake", *DL), cols=120, during=during)
    text = text_of(chunks)
    assert code == 0 and "resized" in state, text
    after = "".join(c for t, c in chunks if t > state["resized"] + 0.3)
    first_after = "".join(c for t, c in chunks if t > state["resized"])
    fr = frames(after)
    assert len(fr) >= 2
    for f in fr:
        for line in visible_lines(f):
            assert len(line) <= 59, line
    assert cursor_restored(text)
    # the first redraw after the resize moves up over every row the old, wider block
    # now takes on a terminal that re-wraps it (lines of up to 119 columns: 2 rows each)
    old = frames("".join(c for t, c in chunks if t <= state["resized"]))[-1]
    old_lines = [line for line in visible_lines(old) if line.strip()]
    moves = [int(m) for m in re.findall(r"\x1b\[(\d+)A", first_after)][:1]
    wrapped = sum(max(1, -(-len(line) // 60)) for line in old_lines)
    assert moves and max(moves) >= wrapped > len(old_lines)


def test_no_color_and_color_never(clean: Any, tmp_path: Path) -> None:
    args = ["download", "ETHBTC", "--source", "rest", "--start", "2024-02-23", "--end", "2024-02-23"]
    code, chunks, _ = run_pty(cmd(clean, tmp_path / "a", *args), environ=env(NO_COLOR="1"))
    text = text_of(chunks)
    assert code == 0 and "\x1b[J" in text and "total" in text
    assert not SGR.search(text), "NO_COLOR: no SGR codes"
    code, chunks, _ = run_pty(cmd(clean, tmp_path / "b", "--color", "never", *args))
    text = text_of(chunks)
    assert code == 0 and "\x1b[J" in text and not SGR.search(text)
    q = run_pty(cmd(clean, tmp_path / "b", "--color", "never", "query", "ETHBTC", "--start", "2024-02-23",
                    "--end", "2024-02-23"))
    assert q[0] == 0 and not SGR.search(text_of(q[1]))
    # and colour by default on a terminal
    code, chunks, _ = run_pty(cmd(clean, tmp_path / "c", *args))
    assert SGR.search(text_of(chunks))


def test_color_always_on_a_pipe(clean: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    p = subprocess.run(cmd(clean, root, "--color", "always", "download", "ETHBTC", "--source", "rest",
                           "--start", "2024-02-24", "--end", "2024-02-24"),
                       capture_output=True, text=True, env=env())
    assert p.returncode == 0, p.stderr
    assert not CURSOR_MOVES.search(p.stderr + p.stdout), "no cursor movement on a pipe"
    q = subprocess.run(cmd(clean, root, "--color", "always", "query", "ETHBTC", "--start", "2024-02-24",
                           "--end", "2024-02-24"), capture_output=True, text=True, env=env())
    assert q.returncode == 0
    assert SGR.search(q.stdout), "--color always colours a pipe"
    assert not CURSOR_MOVES.search(q.stdout)
    plain = subprocess.run(cmd(clean, root, "query", "ETHBTC", "--start", "2024-02-24", "--end", "2024-02-24"),
                           capture_output=True, text=True, env=env())
    assert "\x1b" not in plain.stdout, "auto: no colour on a pipe"


def test_quiet_prints_nothing_on_success(clean: Any, tmp_path: Path) -> None:
    args = ["--quiet", "download", "ETHBTC", "--source", "rest", "--start", "2024-02-25", "--end", "2024-02-25"]
    p = subprocess.run(cmd(clean, tmp_path / "a", *args), capture_output=True, text=True, env=env())
    assert p.returncode == 0 and p.stderr == "" and p.stdout == ""
    code, chunks, _ = run_pty(cmd(clean, tmp_path / "b", *args))
    assert code == 0 and text_of(chunks) == ""


def _interrupt(times: int) -> Callable[[int, int, float], None]:
    state = {"sent": 0}

    def during(pid: int, fd: int, t: float) -> None:
        if t > 1.0 and state["sent"] < times:
            os.kill(pid, signal.SIGINT)
            state["sent"] += 1
            if state["sent"] < times:
                time.sleep(0.2)
    return during


def test_ctrl_c_once_restores_the_cursor_and_says_stopped(clean: Any, tmp_path: Path) -> None:
    slow(clean, 0.1)
    code, chunks, _ = run_pty(cmd(clean, tmp_path / "lake", *DL), during=_interrupt(1))
    text = text_of(chunks)
    assert code == 130, text
    assert cursor_restored(text)
    last = frames(text)[-1]
    assert "stopped" in last and "100%" not in last.split("\n")[0]
    assert "not done (interrupted)" in last
    assert re.search(r"aggtrades: interrupted; committed hours are kept, run '.*' again to resume", text)


def test_ctrl_c_twice_quits_at_once_and_restores_the_cursor(clean: Any, tmp_path: Path) -> None:
    slow(clean, 20, 50)
    code, chunks, seconds = run_pty(cmd(clean, tmp_path / "lake", *DL), during=_interrupt(2))
    text = text_of(chunks)
    assert code == 130, text
    assert seconds < 10
    assert "interrupted again, quitting at once" in text
    assert cursor_restored(text)


def test_error_under_a_terminal_restores_the_cursor(clean: Any, tmp_path: Path) -> None:
    code, chunks, _ = run_pty(cmd(clean, tmp_path / "lake", "download", "ETHBTC", "FOOBAR", "--source", "rest",
                                  "--start", "2024-02-20", "--end", "2024-02-20"))
    text = text_of(chunks)
    assert code == 2, text
    assert "aggtrades: unknown symbol 'FOOBAR'" in text
    assert HIDE not in text or cursor_restored(text)
