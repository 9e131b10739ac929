#!/usr/bin/env python3
"""Functions longer than a limit in C sources of the project's style.

A function definition starts with a line at column 0 that is not a
preprocessor line, a comment or a brace; its body opens with "{" alone at
column 0 and closes with "}" alone at column 0 (the house style: one-line
functions keep their braces on the signature line and are one line long).
Its length is counted from the first line of its signature to the closing
brace, as ctags counts it.

    tools/long_functions.py --max 100 src/lake src/parquet     # exit 1 if any is longer
    tools/long_functions.py --max 0 src/lake                   # list every function, longest first

Python standard library only.
"""
import argparse
import pathlib
import re
import sys

NAME = re.compile(r"([A-Za-z_]\w*)\s*\(")


def functions(path):
    """(name, first line, last line) of each function defined in one C file."""
    lines = path.read_text(errors="replace").split("\n")
    found = []
    for i, line in enumerate(lines):
        if line != "{":
            continue
        start = i - 1  # the signature: back to the nearest line starting at column 0
        while start > 0 and (not lines[start] or lines[start][0] in " \t"):
            start -= 1
        match = NAME.search(lines[start])
        end = i + 1
        while end < len(lines) and lines[end] != "}":
            end += 1
        if match and end < len(lines):
            found.append((match.group(1), start + 1, end + 1))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, required=True, help="longest allowed, in lines")
    parser.add_argument("dirs", nargs="+", help="directories whose *.c files are read")
    args = parser.parse_args()
    rows = []
    for d in args.dirs:
        for path in sorted(pathlib.Path(d).glob("*.c")):
            for name, first, last in functions(path):
                rows.append((last - first + 1, f"{path}:{first}", name))
    long_ones = sorted((r for r in rows if r[0] > args.max), reverse=True)
    for length, where, name in long_ones:
        print(f"{where}: {name} is {length} lines")
    if args.max > 0:
        print(f"{', '.join(args.dirs)}: functions read: {len(rows)}; "
              f"longer than {args.max} lines: {len(long_ones)}")
    return 1 if long_ones and args.max > 0 else 0


if __name__ == "__main__":
    sys.exit(main())
