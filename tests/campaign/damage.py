"""make damage: every kind of local damage a disk or a person can do to a lake,
each followed by ``verify`` (it must report it: exit 1) and ``verify --repair``
(exit 0), after which ``verify`` passes and the lake equals the simulator's
``/_truth`` exactly, through the tool and through pyarrow, with no temporary
file left over.

    python tests/campaign/damage.py [--quick] [--symbol S --first-day D --last-day D]

Prints one line per case and a Markdown table (RELIABILITY.md); exit status 0
when every case held. ``--quick`` runs each kind once (the short version in
``make test``); the full campaign also runs every kind on the first and on the
last stored hour, and all kinds at once.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lakecheck import (SimProcess, Tool, data_requests, exact, hour_files, stats_files,  # noqa: E402
                       stray_files, wal_file)

NOW = "2024-03-01T12:34:56Z"


def pick(root: Path, which: str) -> tuple[int, Path]:
    files = hour_files(root)
    return {"first": files[0], "last": files[-1]}.get(which, files[len(files) // 2])


def truncate(root: Path, which: str) -> str:
    _, f = pick(root, which)
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    return f.name


def zero_length(root: Path, which: str) -> str:
    _, f = pick(root, which)
    f.write_bytes(b"")
    return f.name


def garbage(root: Path, which: str) -> str:
    _, f = pick(root, which)
    f.write_bytes(random.Random(f.name).randbytes(f.stat().st_size))
    return f.name


def bit_flips(root: Path, which: str) -> str:
    _, f = pick(root, which)
    data = bytearray(f.read_bytes())
    for i in range(64, len(data) - 64, 97):
        data[i] ^= 0x40
    f.write_bytes(bytes(data))
    return f.name


def foreign(root: Path, which: str) -> str:
    files = hour_files(root)
    h, f = pick(root, which)
    other = next(g for k, g in files if k != h and g != f)
    shutil.copyfile(other, f)
    return f"{other.name} over {f.name}"


def deleted(root: Path, which: str) -> str:
    _, f = pick(root, which)
    f.unlink()
    return f.name


def stats_scribbled(root: Path, which: str) -> str:
    days = list(stats_files(root))
    p = days[0 if which == "first" else -1 if which == "last" else len(days) // 2][0]
    data = bytearray(p.read_bytes())
    data[len(data) // 3: len(data) // 3 + 12] = b"#~damaged~#!"
    p.write_bytes(bytes(data))
    return p.name


def stats_deleted(root: Path, which: str) -> str:
    days = list(stats_files(root))
    p = days[0 if which == "first" else -1 if which == "last" else len(days) // 2][0]
    p.unlink()
    return p.name


def wal_header(root: Path, which: str) -> str:
    w = wal_file(root)
    data = bytearray(w.read_bytes())
    data[0:8] = b"NOTAWAL!"
    w.write_bytes(bytes(data))
    return w.name


def stray_temporaries(root: Path, which: str) -> str:
    """What a crash of some other writer could leave: a half-written data file, a
    stale '.prev' copy of a committed one, a half-written statistics file."""
    _, f = pick(root, which)
    f.with_name(f".{f.name}.tmp").write_bytes(f.read_bytes()[:100])
    shutil.copyfile(f, f.with_name(f".{f.name}.prev"))
    p = next(stats_files(root))[0]
    p.with_name(f".{p.name}.tmp").write_text('{"format": 1, "hou')
    return f".{f.name}.tmp, .{f.name}.prev, .{p.name}.tmp"


def everything(root: Path, which: str) -> str:
    """Several kinds at once, on different hours and days."""
    files = hour_files(root)
    done = [truncate(root, "first"), deleted(root, "last")]
    f = files[len(files) // 2][1]
    f.write_bytes(b"")
    done += [f.name, stats_scribbled(root, "middle"), wal_header(root, which),
             stray_temporaries(root, "middle")]
    return "; ".join(done)


SINGLE: dict[str, Callable[[Path, str], str]] = {
    "truncated hour file": truncate,
    "zero-length hour file": zero_length,
    "garbage hour file": garbage,
    "bit flips in an hour file": bit_flips,
    "another hour's file copied over": foreign,
    "deleted hour file": deleted,
    "damaged statistics file": stats_scribbled,
    "deleted statistics file": stats_deleted,
    "damaged write-ahead log": wal_header,
    "stray temporary files": stray_temporaries,
}
KINDS = {**SINGLE, "several kinds at once": everything}


@dataclass
class Outcome:
    kind: str
    where: str
    what: str
    verify_rc: int
    problems: int
    repair_rc: int
    after_rc: int
    requests: int
    why_not: str

    @property
    def ok(self) -> bool:
        return not self.why_not


def run_case(sim: SimProcess, pristine: Path, work: Path, symbol: str, days: tuple[str, str],
             kind: str, where: str) -> Outcome:
    root = work / f"{kind}-{where}".replace(" ", "_").replace("'", "")
    shutil.copytree(pristine, root)
    tool = Tool(sim, root)
    what = KINDS[kind](root, where)
    v = tool.run("verify", symbol)
    problems = sum(1 for line in v.stdout.splitlines() if line.startswith(symbol + " "))
    before = data_requests(sim)
    r = tool.run("verify", symbol, "--repair")
    requests = data_requests(sim) - before
    after = tool.run("verify", symbol)
    why = ""
    if v.returncode != 1 or (problems == 0 and "damaged" not in v.stderr):
        why = f"verify did not report it (exit {v.returncode}): {v.stdout[-200:]}{v.stderr[-200:]}"
    elif r.returncode != 0:
        why = f"repair exit {r.returncode}: {r.stderr.strip()[-300:]}"
    elif after.returncode != 0:
        why = f"verify after repair exit {after.returncode}: {after.stdout[-300:]}"
    else:
        why = exact(tool, symbol, *days)
        if not why and stray_files(root):
            why = f"left over: {[str(p.relative_to(root)) for p in stray_files(root)]}"
    if not why:
        shutil.rmtree(root)
    return Outcome(kind, where, what, v.returncode, problems, r.returncode, after.returncode,
                   requests, why)


def campaign(sim: SimProcess, work: Path, symbol: str, days: tuple[str, str], quick: bool,
             log: Callable[[str], None] = print) -> list[Outcome]:
    pristine = work / "pristine"
    p = Tool(sim, pristine).run("download", symbol, "--start", days[0], "--end", days[1])
    if p.returncode != 0:
        raise SystemExit(f"cannot download the pristine lake: {p.stderr}")
    cases = [(k, "middle") for k in KINDS]
    if not quick:
        cases += [(k, w) for w in ("first", "last") for k in SINGLE]
    out = []
    for kind, where in cases:
        o = run_case(sim, pristine, work, symbol, days, kind, where)
        log(f"{'ok  ' if o.ok else 'FAIL'} {kind} ({where}): {o.what}: verify {o.verify_rc} "
            f"({o.problems} problems), repair {o.repair_rc} ({o.requests} requests), "
            f"verify {o.after_rc}{'' if o.ok else ' -- ' + o.why_not}")
        out.append(o)
    return out


def table(outcomes: list[Outcome]) -> str:
    lines = ["| damage | where | verify exit (problems) | repair exit | data requests | outcome |",
             "|---|---|---|---|---|---|"]
    for o in outcomes:
        lines.append(f"| {o.kind} | {o.where} hour | {o.verify_rc} ({o.problems}) | {o.repair_rc} | "
                     f"{o.requests} | {'exact lake, verify 0' if o.ok else 'FAILED: ' + o.why_not} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="each kind once (make test)")
    ap.add_argument("--symbol", default="ETHBTC")
    ap.add_argument("--first-day", default="2024-02-05")
    ap.add_argument("--last-day", default="2024-02-07")
    a = ap.parse_args()
    t0 = time.monotonic()
    with SimProcess("--now", NOW, "--weight-limit", "1000000") as sim, \
            tempfile.TemporaryDirectory(prefix="agt-damage-") as work:
        out = campaign(sim, Path(work), a.symbol, (a.first_day, a.last_day), a.quick)
        bad = [o for o in out if not o.ok]
        print()
        print(table(out))
        print(f"\n{len(out)} damage cases, {len(out) - len(bad)} repaired exactly, "
              f"{sum(o.requests for o in out)} data requests, {time.monotonic() - t0:.0f} s")
        if bad and os.environ.get("AGT_KEEP"):
            shutil.copytree(work, os.environ["AGT_KEEP"], dirs_exist_ok=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
