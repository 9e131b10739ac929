"""make crashloop: SIGKILL the real ``aggtrades`` at random moments of
``download``, ``update --force``, ``retry`` and ``verify --repair``, again and
again on one lake, against a simulator injecting faults. After every kill:

* ``verify`` must be truthful: it answers (exit 0 or 1, never an unreadable
  lake), and every hour it does not name as a problem holds exactly the
  exchange's trades (lakecheck.untruthful);
* the lake stays readable: ``query`` answers.

Each round first gives the command something to do (hours deleted or damaged
for ``download`` and ``verify --repair``; ``.retry`` filled by the faults),
then starts it and kills it after a random delay. At the end, without faults,
the commands run to completion: the lake equals ``/_truth`` exactly and
``verify`` passes.

    python tests/campaign/crashloop.py [--kills N] [--seed S] [--fault-rate P]

Prints a Markdown table (RELIABILITY.md); exit status 0 when every check held.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lakecheck import (US_PER_DAY, SimProcess, Tool, data_requests, exact, hour_files,  # noqa: E402
                       untruthful, us)

NOW = "2024-03-01T12:34:56Z"
SYMBOL = "ETHBTC"
DAYS = ("2024-02-05", "2024-02-06")


def retry_pending(tool: Tool) -> bool:
    return (tool.root / ".retry").exists() and (tool.root / ".retry").stat().st_size > 0


def span_files(tool: Tool) -> list[tuple[int, Path]]:
    """(hour, data file) of the stored hours inside DAYS: those the commands' span covers.

    ``update --force`` refetches from the first stored trade up to the exchange's
    now, so a killed one leaves hours after DAYS in the lake too. No command of the
    campaign, the final ones included, is given a span beyond DAYS: an hour damaged
    there is work for none of them and stays damaged to the end."""
    lo, hi = us(DAYS[0]), us(DAYS[-1]) + US_PER_DAY
    return [(h, f) for h, f in hour_files(tool.root) if lo <= h < hi]


def prepare(tool: Tool, cmd: str, rng: random.Random) -> None:
    """Give `cmd` work to do: a few hours of its span (DAYS) to fetch again."""
    files = span_files(tool)
    if not files:
        return
    if cmd == "download":
        for _, f in rng.sample(files, min(len(files), rng.randint(1, 6))):
            f.unlink(missing_ok=True)
    elif cmd == "retry" and not retry_pending(tool):
        # hours whose every attempt fails end in .retry: a download that runs to its end
        for _, f in rng.sample(files, 2):
            f.unlink(missing_ok=True)
        tool.sim.control(next=["500json"] * 8)
        tool.run(*command("download"))
        tool.sim.control(next=[])
    elif cmd == "verify --repair":
        for _, f in rng.sample(files, min(len(files), rng.randint(1, 4))):
            if f.exists():
                f.write_bytes(f.read_bytes()[: rng.randint(0, f.stat().st_size)])


def command(cmd: str) -> list[str]:
    span = ["--start", DAYS[0], "--end", DAYS[1]]
    return {"download": ["download", SYMBOL, *span],
            "update --force": ["update", SYMBOL, "--force"],
            "retry": ["retry"],
            "verify --repair": ["verify", SYMBOL, "--repair", *span]}[cmd]


def campaign(sim: SimProcess, root: Path, kills: int, seed: int, fault_rate: float,
             log: Callable[[str], None] = print) -> dict[str, object]:
    rng = random.Random(seed)
    tool = Tool(sim, root)
    sim.control(fault_rate=fault_rate, seed=seed)
    first = tool.run(*command("download"))
    if first.returncode not in (0, 1):
        raise SystemExit(f"first download failed: {first.stderr}")
    killed: Counter[str] = Counter()
    finished: Counter[str] = Counter()
    failures: list[str] = []
    requests0 = data_requests(sim)
    t0 = time.monotonic()
    rounds = 0
    while sum(killed.values()) < kills:
        rounds += 1
        cmd = rng.choice(["download", "update --force", "retry", "verify --repair"])
        prepare(tool, cmd, rng)
        proc = tool.popen(*command(cmd))
        try:
            proc.wait(rng.uniform(0.0, 1.0))
            finished[cmd] += 1  # it ended before its kill
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed[cmd] += 1
        why = untruthful(tool, SYMBOL)
        if why:
            failures.append(f"round {rounds} after {cmd}: {why}")
            log(f"FAIL round {rounds} ({cmd}): {why}")
        if rounds % 25 == 0:
            log(f"{rounds} rounds, {sum(killed.values())} kills, {len(failures)} failures")
    faults = sim.stats().get("faults_total", 0)
    # the end: no faults, every command allowed to finish
    sim.control(fault_rate=0)
    end = [tool.run(*command("download")), tool.run("retry") if retry_pending(tool) else None,
           tool.run(*command("verify --repair"))]
    for p in end:
        if p is not None and p.returncode != 0:
            failures.append(f"final {' '.join(p.args[9:])}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    v = tool.run("verify", SYMBOL)
    if v.returncode != 0:
        failures.append(f"final verify exit {v.returncode}: {v.stdout[-300:]}")
    why = exact(tool, SYMBOL, *DAYS)
    if why:
        failures.append(f"final lake not exact: {why}")
    return {"kills": dict(killed), "finished": dict(finished), "rounds": rounds,
            "requests": data_requests(sim) - requests0, "faults": faults,
            "seconds": time.monotonic() - t0, "failures": failures}


def table(r: dict[str, object], command_line: str) -> str:
    kills = r["kills"]
    assert isinstance(kills, dict)
    per = ", ".join(f"{k} {v}" for k, v in sorted(kills.items()))
    failures = r["failures"]
    assert isinstance(failures, list)
    return "\n".join([
        "| rounds | kills (per command) | REST data requests | faults injected | outcome | command |",
        "|---|---|---|---|---|---|",
        f"| {r['rounds']} | {sum(kills.values())} ({per}) | {r['requests']} | {r['faults']} | "
        f"{'verify truthful after every kill; final lake exact, verify 0' if not failures else f'{len(failures)} FAILED'}"
        f" | `{command_line}` |"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--fault-rate", type=float, default=0.1)
    a = ap.parse_args()
    with SimProcess("--now", NOW, "--weight-limit", "1000000") as sim, \
            tempfile.TemporaryDirectory(prefix="agt-crashloop-") as work:
        r = campaign(sim, Path(work) / "lake", a.kills, a.seed, a.fault_rate)
    line = f"python tests/campaign/crashloop.py --kills {a.kills} --seed {a.seed} --fault-rate {a.fault_rate}"
    print()
    print(table(r, line))
    failures = r["failures"]
    assert isinstance(failures, list)
    for f in failures:
        print("FAIL", f)
    print(f"\n{r['rounds']} rounds in {r['seconds']:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
