"""The structure checks of ctest (structure_file_cycles, structure_function_length)
can fail: each checker is run on a small module built here with the fault it must
find, and on the same module without it. The checks of the real modules run in
ctest (CMakeLists.txt), against the libraries of the build.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FILE_CYCLES = REPO / "tools" / "file_cycles.py"
LONG_FUNCTIONS = REPO / "tools" / "long_functions.py"


def build_module(tmp: Path, name: str, files: dict[str, str]) -> Path:
    """Compile each source into an object and gather them in lib<name>.a, as CMake does."""
    objs = []
    for fname, text in files.items():
        src = tmp / fname
        src.write_text(text)
        obj = tmp / f"{fname}.o"
        subprocess.run(["cc", "-c", "-o", str(obj), str(src)], check=True)
        objs.append(str(obj))
    archive = tmp / f"lib{name}.a"
    subprocess.run(["ar", "rcs", str(archive), *objs], check=True)
    return archive


def run(tool: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(tool), *args], capture_output=True, text=True)


def test_a_cycle_between_files_fails_and_is_named(tmp_path: Path) -> None:
    archive = build_module(tmp_path, "agt_demo", {
        "open.c": "int layout_path(void);\nint lake_open(void) { return layout_path(); }\n",
        "layout.c": "int lake_open(void);\nint layout_path(void) { return 1; }\n"
                    "int layout_reopen(void) { return lake_open(); }\n",
        "leaf.c": "int layout_path(void);\nint leaf(void) { return layout_path(); }\n",
    })
    r = run(FILE_CYCLES, str(archive))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "demo: files that call each other in a cycle: layout.c open.c" in r.stdout
    assert "layout.c -> open.c  (lake_open)" in r.stdout
    assert "open.c -> layout.c  (layout_path)" in r.stdout
    assert "leaf.c" not in r.stdout  # calls into the cycle, is not part of it


def test_calls_in_one_direction_pass(tmp_path: Path) -> None:
    archive = build_module(tmp_path, "agt_demo", {
        "open.c": "int layout_path(void);\nint lake_open(void) { return layout_path(); }\n",
        "layout.c": "int layout_path(void) { return 1; }\n",
        "leaf.c": "int layout_path(void);\nint lake_open(void);\n"
                  "int leaf(void) { return layout_path() + lake_open(); }\n",
    })
    r = run(FILE_CYCLES, str(archive))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "demo: 3 files, no cycle"
    edges = [line for line in run(FILE_CYCLES, "--graph", str(archive)).stdout.splitlines()
             if "->" in line]
    assert sorted(edges) == ["demo: leaf.c -> layout.c  (layout_path)",
                             "demo: leaf.c -> open.c  (lake_open)",
                             "demo: open.c -> layout.c  (layout_path)"]


def test_a_cycle_between_modules_fails(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    lake = build_module(tmp_path / "a", "agt_lake", {
        "query.c": "int sync_run(void);\nint lake_query(void) { return sync_run(); }\n"})
    sync = build_module(tmp_path / "b", "agt_sync", {
        "run.c": "int lake_query(void);\nint sync_run(void) { return 0; }\n"
                 "int sync_all(void) { return lake_query(); }\n"})
    r = run(FILE_CYCLES, str(lake), str(sync))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "lake: 1 files, no cycle" in r.stdout
    assert "modules: modules that call each other in a cycle: lake sync" in r.stdout
    assert "lake -> sync  (sync_run)" in r.stdout


@pytest.mark.parametrize("body_lines, fails", [(8, False), (9, True)])
def test_a_function_over_the_limit_fails(tmp_path: Path, body_lines: int, fails: bool) -> None:
    # two signature lines + "{" + body + "}": body_lines + 4 lines in all; the limit is 12
    src = tmp_path / "mod"
    src.mkdir()
    body = "".join(f"    x += {i};\n" for i in range(body_lines - 1))
    (src / "a.c").write_text(
        "static int one(int x) { return x; }\n\n"
        "int long_one(int x,\n             int y)\n{\n" + body + "    return x + y;\n}\n")
    r = run(LONG_FUNCTIONS, "--max", "12", str(src))
    assert r.returncode == (1 if fails else 0), r.stdout + r.stderr
    assert ("long_one is 13 lines" in r.stdout) == fails
    # the one-line function has no body of its own lines: it is not counted
    assert f"{src}: functions read: 1; longer than 12 lines: {1 if fails else 0}" in r.stdout
