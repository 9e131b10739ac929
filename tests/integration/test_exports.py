"""The library's boundary: what libaggtrades.so exports and what the tool may include.

* ``nm -D --defined-only`` lists exactly the functions declared with ``AGT_API``
  in ``include/aggtrades/``, each one documented by a comment just above its
  prototype (or in the comment block the prototype belongs to);
* every source of the tool compiles with ``include/`` (and the tool's own
  directory) as its only include path: the tool is a client of the public API.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIB = Path(os.environ.get("AGT_LIB") or REPO / "build" / "libaggtrades.so")
DECL = re.compile(r"^AGT_API [^;{]*?\b(agt_[a-z0-9_]+)\(")


def public_functions() -> dict[str, tuple[str, int]]:
    """agt_ name -> (header, line) of every AGT_API prototype."""
    out = {}
    for h in sorted((REPO / "include" / "aggtrades").glob("*.h")):
        for i, line in enumerate(h.read_text().splitlines()):
            m = DECL.match(line)
            if m:
                out[m.group(1)] = (h.name, i)
    return out


@pytest.mark.skipif(shutil.which("nm") is None, reason="no nm")
def test_only_the_public_api_is_exported() -> None:
    assert LIB.exists(), f"no library at {LIB}"
    nm = subprocess.run(["nm", "-D", "--defined-only", str(LIB)], capture_output=True, text=True, check=True)
    exported = {ln.split()[-1] for ln in nm.stdout.splitlines() if ln.split() and ln.split()[1] in "TtWDdBbRr"}
    exported -= {"_init", "_fini"}
    public = public_functions()
    assert len(public) > 50
    assert exported == set(public), (sorted(exported - set(public)), sorted(set(public) - exported))


def test_every_public_function_is_documented() -> None:
    for name, (header, i) in public_functions().items():
        lines = (REPO / "include" / "aggtrades" / header).read_text().splitlines()
        # a comment ends on one of the lines above, before any blank line, or on the prototype itself
        k, documented = i, "/*" in lines[i] or "//" in lines[i]
        while not documented and k > 0 and lines[k - 1].strip():
            k -= 1
            documented = lines[k].rstrip().endswith("*/") or lines[k].lstrip().startswith("/*")
        assert documented, f"{header}:{i + 1}: {name} has no comment"


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_the_tool_needs_only_the_public_headers(tmp_path: Path) -> None:
    tool = REPO / "tools" / "aggtrades"
    for src in sorted(tool.rglob("*.c")):
        p = subprocess.run(["cc", "-std=c11", "-fsyntax-only", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
                            "-DAGT_VERSION=\"0\"", "-DAGT_BUILD_HASH=\"0\"",
                            f"-I{REPO / 'include'}", f"-I{tool}", str(src)],
                           capture_output=True, text=True, cwd=tmp_path)
        assert p.returncode == 0, f"{src.relative_to(REPO)}:\n{p.stderr}"
