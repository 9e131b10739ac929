"""``python -m aggtrades`` and the ``aggtrades`` command of the wheel: the C tool.

The wheel carries the real command-line tool, compiled with the library, at
``aggtrades/bin/aggtrades``; this shim replaces the Python process with it
(``execv``), so arguments, standard streams, signals and the exit status are
the tool's own. ``AGT_BIN`` names another binary (the tests use it to run a
development build).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence

__all__ = ["main", "tool_path"]


def tool_path() -> Path:
    """Return the path of the tool :func:`main` runs."""
    env = os.environ.get("AGT_BIN")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "bin" / "aggtrades"


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the tool with ``argv`` (default: this process's arguments); never returns."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = tool_path()
    if not os.access(path, os.X_OK):
        sys.stderr.write(
            f"aggtrades: the command-line tool is not at '{path}'; install the package "
            "with `pip install .` in the repository, or set AGT_BIN to a built aggtrades\n"
        )
        sys.exit(127)
    sys.stdout.flush()
    os.execv(path, ["aggtrades", *args])


if __name__ == "__main__":
    main()
