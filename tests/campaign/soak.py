"""make soak: several symbols and days downloaded with the real ``aggtrades``
against a simulator that fails 10-20 % of the requests of both sources (REST
and the archive) with mixed faults - http 500/502/503, a firewall page, 429,
connections reset, bodies cut short, a server that drips - and whose REST
history starts late (a history floor: the days before it exist only in the
archive), with one archive day truncated and one corrupt (its checksum does not
match).

The runs go on (``download``, then ``retry`` while ``.retry`` names units)
until the lake is settled. Then:

* every hour the exchange can prove equals the simulator's ``/_truth`` exactly,
  read by the tool and by pyarrow, and ``verify`` passes over it;
* ``.retry`` lists exactly the hours nothing can prove: those whose trades, or
  the trade just before them, lie after the cut of the truncated day below the
  REST floor (REST does not serve them, the archive's file lacks them);
* nothing else failed silently: no run exited 0 with a unit missing.

    python tests/campaign/soak.py [--quick] [--fault-rate P] [--seed S]

Prints a Markdown table (RELIABILITY.md); exit status 0 when every check held.
``--quick`` (two symbols, three days) is the short version in ``make test``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lakecheck import US_PER_DAY, US_PER_HOUR, SimProcess, Tool, exact, truth, us  # noqa: E402

NOW = "2024-03-01T12:34:56Z"
FLOOR = "2024-02-20T00:00:00Z"       # BTCUSDT's REST history starts here
FAULTS = ["500json", "503json", "502html", "403html", "429:1", "reset", "truncate", "drip:200"]
# A dripping body is aborted after a second below 1000 bytes/s, then retried.
SLOW = ["--low-speed-limit", "1000", "--low-speed-time", "1"]


def scenario(quick: bool) -> dict:
    days = ["2024-02-14", "2024-02-15", "2024-02-16"] if quick else \
        ["2024-02-13", "2024-02-14", "2024-02-15", "2024-02-16", "2024-02-17", "2024-02-27"]
    syms = ["BTCUSDT", "ETHUSDT"] if quick else ["BTCUSDT", "ETHUSDT", "BNBUSDT"]
    return {
        "symbols": syms,
        "days": days,
        # below the floor and cut short: what follows the cut is nowhere to be had
        "truncate": {"BTCUSDT-2024-02-15": "10:00"},
        # above no floor: the day goes to REST, which has it
        "bad_checksum": ["ETHUSDT-2024-02-15"],
    }


def unprovable(sim: SimProcess, sc: dict) -> set[tuple[str, int]]:
    """(symbol, hour µs) of the hours nothing can prove, from the truth: the truncated
    day's hours from its last row before the cut on, and the following hours up to
    the first trade after the cut's day (its trade before lies after the cut)."""
    out = set()
    for key, cut in sc["truncate"].items():
        sym, day = key.split("-", 1)
        day_us = us(day)
        cut_us = day_us + int(cut[:2]) * US_PER_HOUR + int(cut[3:5]) * 60_000_000
        before = [r for r in truth(sim, sym, day, day) if r[1] < cut_us]
        h = (before[-1][1] // US_PER_HOUR) * US_PER_HOUR if before else day_us
        after = sim.truth(sym, day_us + US_PER_DAY, day_us + 30 * US_PER_DAY)
        end = (after[0]["T"] // US_PER_HOUR) * US_PER_HOUR if after else day_us + US_PER_DAY
        last_day = us(sc["days"][-1]) + US_PER_DAY
        while h <= end and h < last_day:
            out.add((sym, h))
            h += US_PER_HOUR
    return out


def retry_units(root: Path) -> set[tuple[str, int]]:
    f = root / ".retry"
    if not f.exists():
        return set()
    units = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return {(u["symbol"], us(u["date"], u["hour"])) for u in units}


def lake_exact_except(tool: Tool, sc: dict, skip: set[tuple[str, int]]) -> list[str]:
    """What differs from the truth outside the unprovable hours."""
    bad = []
    for sym in sc["symbols"]:
        for day in sc["days"]:
            holes = [h for s, h in skip if s == sym and us(day) <= h < us(day) + US_PER_DAY]
            if not holes:
                why = exact(tool, sym, day, day)
                if why:
                    bad.append(f"{sym} {day}: {why}")
                continue
            # hour by hour around the holes
            for k in range(24):
                h = us(day) + k * US_PER_HOUR
                if (sym, h) in skip:
                    continue
                a = time.strftime("%Y-%m-%d %H:00:00", time.gmtime(h / 1e6))
                b = time.strftime("%Y-%m-%d %H:59:59.999999", time.gmtime(h / 1e6))
                want = [(r["a"], r["T"]) for r in tool.sim.truth(sym, h, h + US_PER_HOUR - 1)]
                p = tool.run("query", sym, "--start", a, "--end", b, "--output", "csv")
                got = [(int(x.split(",")[0]), 0) for x in p.stdout.splitlines()[1:]]
                if [g[0] for g in got] != [w[0] for w in want]:
                    bad.append(f"{sym} {a}: {len(got)} rows, the exchange {len(want)}")
    return bad


def campaign(sim: SimProcess, root: Path, quick: bool, fault_rate: float, seed: int,
             log=print) -> dict:
    sc = scenario(quick)
    sim.control(rest_floor={"BTCUSDT": FLOOR}, archive_truncate=sc["truncate"],
                archive_bad_checksum=sc["bad_checksum"], weight_limit=1000000,
                fault_paths=["/api/v3/aggTrades", "/data/"], faults=FAULTS,
                fault_rate=fault_rate, seed=seed, reset_counters=True)
    tool = Tool(sim, root)
    runs = []
    p = tool.run(*SLOW, "--no-progress", "download", *sc["symbols"], "--start", sc["days"][0],
                 "--end", sc["days"][-1])
    runs.append(("download", p.returncode, len(retry_units(root))))
    log(f"download: exit {p.returncode}, {len(retry_units(root))} units in .retry")
    for _ in range(6):  # until .retry holds only what no attempt can change
        if p.returncode != 1:
            break
        before = retry_units(root)
        p = tool.run(*SLOW, "--no-progress", "retry")
        runs.append(("retry", p.returncode, len(retry_units(root))))
        log(f"retry: exit {p.returncode}, {len(retry_units(root))} units in .retry")
        if retry_units(root) == before:
            break
    stats = sim.stats()
    sim.control(fault_rate=0)

    expect = unprovable(sim, sc)
    got = retry_units(root)
    problems = []
    if p.returncode not in (0, 1):
        problems.append(f"last run exit {p.returncode}: {p.stderr.strip()[-300:]}")
    if got != expect:
        problems.append(f".retry names {len(got)} hours, {len(expect)} cannot be proven; "
                        f"extra {sorted(got - expect)[:3]}, lacking {sorted(expect - got)[:3]}")
    if (p.returncode == 0) != (not expect):
        problems.append(f"last run exit {p.returncode} with {len(expect)} unprovable hours")
    problems += lake_exact_except(tool, sc, expect)
    for sym in sc["symbols"]:
        spans = [d for d in sc["days"]]
        v = tool.run("verify", sym, "--start", spans[0], "--end", spans[-1])
        named = {line.split()[1] + " " + line.split()[2] for line in v.stdout.splitlines()
                 if line.startswith(sym + " ") and "  " in line}
        for s, h in expect:
            if s == sym and time.strftime("%Y-%m-%d %H:%M", time.gmtime(h / 1e6)) not in named:
                problems.append(f"verify does not name the unprovable hour {s} {h}")
    faults = Counter(stats["faults"])
    return {"symbols": len(sc["symbols"]), "days": len(sc["days"]), "runs": runs,
            "requests": stats["data_requests"],
            "archive_requests": sum(n for k, n in stats["requests"].items() if k.startswith("/data/")),
            "faults": sum(faults.values()), "fault_kinds": dict(faults),
            "unprovable": len(expect), "retry": len(got), "problems": problems}


def table(r: dict, cmd: str, fault_rate: float) -> str:
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(r["fault_kinds"].items()))
    runs = ", ".join(f"{c} (exit {e}, {n} in .retry)" for c, e, n in r["runs"])
    outcome = "exact; .retry = the unprovable hours" if not r["problems"] else \
        "FAILED: " + "; ".join(r["problems"][:3])
    return ("| symbols x days | REST requests | archive requests | faults injected (rate) | runs | "
            "unprovable hours | outcome | command |\n|---|---|---|---|---|---|---|---|\n"
            f"| {r['symbols']} x {r['days']} | {r['requests']:,} | {r['archive_requests']:,} | "
            f"{r['faults']:,} ({fault_rate:.0%}: {kinds}) | {runs} | {r['unprovable']} | {outcome} | "
            f"`{cmd}` |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="two symbols, three days (make test)")
    ap.add_argument("--fault-rate", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=8)
    a = ap.parse_args()
    t0 = time.monotonic()
    cmd = "python tests/campaign/soak.py" + (" --quick" if a.quick else "") + \
        f" --fault-rate {a.fault_rate} --seed {a.seed}"
    with SimProcess("--now", NOW) as sim, tempfile.TemporaryDirectory(prefix="agt-soak-") as work:
        r = campaign(sim, Path(work) / "lake", a.quick, a.fault_rate, a.seed)
    print()
    print(table(r, cmd, a.fault_rate))
    print(f"\n{time.monotonic() - t0:.0f} s")
    for line in r["problems"]:
        print("problem:", line)
    return 1 if r["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
