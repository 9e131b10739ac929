"""The C install, as a C user meets it: ``make install`` into a staging DESTDIR.

Then, against what was installed there and nothing else: the file list with
the library's SONAME, the installed tool's ``--version``, a tiny C program
(``examples/fetch_hour.c``) built with ``pkg-config --cflags --libs aggtrades``
fetching an hour from the simulator exactly, ``man -l`` rendering the page
without a warning, the completion scripts, and ``make uninstall`` leaving no
file behind. One ``make install`` (Release, in build-install/) serves the module.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import SimProcess

REPO = Path(__file__).resolve().parents[2]
PREFIX = "/usr/local"
NOW = "2024-03-01T12:34:56Z"
VERSION = re.search(r"project\(aggtrades VERSION ([0-9.]+)", (REPO / "CMakeLists.txt").read_text())[1]  # type: ignore[index]

pytestmark = pytest.mark.skipif(shutil.which("cc") is None or shutil.which("pkg-config") is None,
                                reason="needs a C compiler and pkg-config")


def make(*args: str) -> None:
    """``make -C REPO args`` as a user runs it (not as a sub-make of `make test`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    r = subprocess.run(["make", "-C", str(REPO), *args], env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"make {' '.join(args)} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"


@pytest.fixture(scope="module")
def destdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("destdir")
    make("install", f"DESTDIR={dest}", f"PREFIX={PREFIX}")
    return dest


@pytest.fixture(scope="module")
def prefix(destdir: Path) -> Path:
    return destdir / PREFIX.lstrip("/")


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def test_installs_the_files_of_a_c_package(prefix: Path) -> None:
    lib = prefix / "lib"
    for rel in ("bin/aggtrades", "bin/cli", "lib/pkgconfig/aggtrades.pc", "share/man/man1/aggtrades.1",
                "share/man/man1/cli.1", "share/bash-completion/completions/aggtrades",
                "share/bash-completion/completions/cli", "share/zsh/site-functions/_aggtrades"):
        assert (prefix / rel).is_file(), rel
    assert os.access(prefix / "bin/aggtrades", os.X_OK) and os.access(prefix / "bin/cli", os.X_OK)
    # the real file, the SONAME link, the link the linker's -laggtrades finds
    assert (lib / f"libaggtrades.so.{VERSION}").is_file() and not (lib / f"libaggtrades.so.{VERSION}").is_symlink()
    assert os.readlink(lib / "libaggtrades.so.0") == f"libaggtrades.so.{VERSION}"
    assert os.readlink(lib / "libaggtrades.so") == "libaggtrades.so.0"
    dyn = run(["readelf", "-d", str(lib / f"libaggtrades.so.{VERSION}")]).stdout
    assert "Library soname: [libaggtrades.so.0]" in dyn
    # every public header, as in the source tree
    want = sorted(p.name for p in (REPO / "include/aggtrades").glob("*.h"))
    assert sorted(p.name for p in (prefix / "include/aggtrades").iterdir()) == want
    for name in want:
        assert (prefix / "include/aggtrades" / name).read_bytes() == (REPO / "include/aggtrades" / name).read_bytes()


def test_installed_tool_reports_the_version(prefix: Path) -> None:
    for name in ("aggtrades", "cli"):
        r = run([str(prefix / "bin" / name), "--version"])
        assert r.returncode == 0, r.stderr
        assert re.fullmatch(rf"aggtrades {re.escape(VERSION)} \(build ([0-9a-f]+|unknown)\)\n", r.stdout), r.stdout
    r = run([str(prefix / "bin/aggtrades"), "no-such-command"])
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_pkg_config_program_fetches_an_hour_exactly(
        destdir: Path, prefix: Path, tmp_path: Path, start_sim: Callable[..., SimProcess]) -> None:
    pc_env = {**os.environ, "PKG_CONFIG_PATH": str(prefix / "lib/pkgconfig")}
    # the .pc names the prefix of the install, not the staging tree
    assert run(["pkg-config", "--variable=prefix", "aggtrades"], env=pc_env).stdout.strip() == PREFIX
    pc_env["PKG_CONFIG_SYSROOT_DIR"] = str(destdir)  # which the flags then point into
    assert run(["pkg-config", "--modversion", "aggtrades"], env=pc_env).stdout.strip() == VERSION
    flags = run(["pkg-config", "--cflags", "--libs", "aggtrades"], env=pc_env)
    assert flags.returncode == 0, flags.stderr
    assert f"-I{prefix}/include" in flags.stdout and f"-L{prefix}/lib" in flags.stdout
    exe = tmp_path / "fetch_hour"
    cc = run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", str(REPO / "examples/fetch_hour.c"),
              *shlex.split(flags.stdout), "-o", str(exe)])
    assert cc.returncode == 0, cc.stderr
    assert "NEEDED" in (dyn := run(["readelf", "-d", str(exe)]).stdout) and "[libaggtrades.so.0]" in dyn

    sim = start_sim("--now", NOW)
    symbol, day, hour = "ETHBTC", "2024-02-05", 13
    r = run([str(exe), symbol, day, str(hour), sim.url], env={**os.environ, "LD_LIBRARY_PATH": str(prefix / "lib")})
    assert r.returncode == 0, r.stderr
    assert r.stderr.endswith(f"complete (libaggtrades {VERSION})\n"), r.stderr
    header, *lines = r.stdout.splitlines()
    assert header == "trade_id,ts_us,price,quantity,is_buyer_maker"
    got = [(int(a), int(t), float(p), float(q), m == "1") for a, t, p, q, m in (ln.split(",") for ln in lines)]

    start_us = 1707138000 * 1_000_000  # 2024-02-05 13:00 UTC
    by_id = {t["a"]: t for t in sim.truth(symbol, start_us, start_us + 3_600_000_000 - 1)}
    want = [(a, t["T"], float(t["p"]), float(t["q"]), bool(t["m"])) for a, t in sorted(by_id.items())]
    assert len(want) > 10
    assert got == want  # doubles printed with 17 digits read back to the same value


def test_man_page_renders_without_warnings(prefix: Path) -> None:
    if shutil.which("man") is None:
        pytest.skip("man is not installed (make deps installs man-db)")
    env = {**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"}
    r = run(["man", "--warnings", "-l", str(prefix / "share/man/man1/aggtrades.1")], env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    text = r.stdout
    assert text.startswith("AGGTRADES(1)")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS",
                    "ENVIRONMENT", "FILES", "EXAMPLES"):
        assert re.search(rf"^{section}$", text, re.M), section
    assert f"aggtrades {VERSION}" in text
    # every command of the tool's help has its entry, every option of every help is described
    tool = str(prefix / "bin/aggtrades")
    usage = run([tool, "--help"]).stdout
    commands = re.findall(r"^  ([a-z]+) ", usage.split("Commands:\n")[1].split("\n\n")[0], re.M)
    assert len(commands) >= 5
    missing = [c for c in commands if not re.search(rf"^       {c}\b", text, re.M)]
    assert not missing, f"commands without an entry in docs/man/aggtrades.1.in: {missing}"
    options = set(re.findall(r"--[a-z][a-z-]*", usage))
    for c in commands:
        options |= set(re.findall(r"--[a-z][a-z-]*", run([tool, c, "--help"]).stdout))
    missing = sorted(o for o in options if o not in text)
    assert not missing, f"options not described in docs/man/aggtrades.1.in: {missing}"
    # every exit status the tool defines (EXIT_* in its headers) has its entry
    statuses = {m for h in (REPO / "tools/aggtrades").rglob("*.h")
                for m in re.findall(r"\bEXIT_[A-Z_]+ = (\d+)", h.read_text())}
    section = text.split("\nEXIT STATUS\n")[1].split("\nENVIRONMENT\n")[0]
    assert len(statuses) >= 5 and set(statuses) == set(re.findall(r"^       (\d+)\b", section, re.M)), statuses
    # cli(1) is the same page
    cli = run(["man", "--warnings", "-l", "man1/cli.1"], env=env, cwd=prefix / "share/man")
    assert cli.returncode == 0 and cli.stdout == text, cli.stderr


def test_completions_are_the_tools_own(prefix: Path) -> None:
    tool = str(prefix / "bin/aggtrades")
    bash = prefix / "share/bash-completion/completions/aggtrades"
    assert bash.read_text() == run([tool, "completion", "bash"]).stdout
    assert (prefix / "share/bash-completion/completions/cli").read_text() == bash.read_text()
    assert (prefix / "share/zsh/site-functions/_aggtrades").read_text() == run([tool, "completion", "zsh"]).stdout
    r = run(["bash", "-c", f"source {shlex.quote(str(bash))} && complete -p aggtrades && complete -p cli"])
    assert r.returncode == 0 and "_aggtrades aggtrades" in r.stdout and "_aggtrades cli" in r.stdout, r.stderr


def test_uninstall_removes_every_installed_file(destdir: Path, tmp_path: Path) -> None:
    dest = tmp_path / "stage"
    make("install", f"DESTDIR={dest}", f"PREFIX={PREFIX}")
    installed = [p for p in dest.rglob("*") if not p.is_dir()]
    assert len(installed) > 15
    make("uninstall", f"DESTDIR={dest}")
    assert [p for p in dest.rglob("*") if not p.is_dir()] == []
    assert not (dest / PREFIX.lstrip("/") / "include/aggtrades").exists()
