"""What the reliability campaigns share: the simulator, the real ``aggtrades``
binary, and the two questions every campaign asks of a lake.

* Is it exact?  Its rows, read by the tool (``query --output csv``) and by an
  outside engine (pyarrow over the ``*.parquet`` files, as DuckDB's glob reads
  them), equal the simulator's ``/_truth`` row for row.
* Is ``verify`` truthful?  Every hour it does not name as a problem holds
  exactly the exchange's trades.

The lake's own files are found the way its documentation describes them
(statistics record each hour's data file path; the write-ahead log starts with
its magic), never by a second copy of the layout's names.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGT_BIN", str(REPO / "build" / "aggtrades"))
US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR

if str(REPO / "tests" / "integration") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "integration"))
from conftest import SimProcess  # noqa: E402  (the one simulator wrapper of the tests)

Row = tuple[int, int, float, float, bool]


def us(day: str, hour: int = 0) -> int:
    d = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc) + dt.timedelta(hours=hour)
    return (d - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def iso_us(text: str) -> int:
    d = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (d - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("AGT_ROOT", "AGT_API_URL", "AGT_ARCHIVE_URL", "NO_COLOR")}


class Tool:
    """The real binary on one lake, against one simulator (REST and archive)."""

    def __init__(self, sim: SimProcess, root: Path) -> None:
        self.sim = sim
        self.root = root

    def argv(self, *args: str) -> list[str]:
        return [BIN, "--root", str(self.root), "--interval-ms", "0", "--api-url", self.sim.url,
                "--archive-url", self.sim.url, *args]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout,
                              env=child_env())

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, text=True, env=child_env())


def data_requests(sim: SimProcess) -> int:
    return int(sim.stats()["data_requests"])


def truth(sim: SimProcess, symbol: str, first_day: str, last_day: str) -> list[Row]:
    return [(r["a"], r["T"], float(r["p"]), float(r["q"]), bool(r["m"]))
            for r in sim.truth(symbol, us(first_day), us(last_day) + US_PER_DAY - 1)]


def rows_by_tool(tool: Tool, symbol: str, first: str, last: str) -> list[Row]:
    """Every stored row of [first, last] (days, or times as the tool takes them)."""
    p = tool.run("query", symbol, "--start", first, "--end", last, "--output", "csv")
    if p.returncode != 0:
        raise AssertionError(f"query failed ({p.returncode}): {p.stderr.strip()}")
    rows = []
    for line in p.stdout.splitlines()[1:]:
        a, t, price, qty, m = line.split(",")
        rows.append((int(a), iso_us(t), float(price), float(qty), m == "true"))
    return rows


def rows_by_engine(root: Path, symbol: str) -> list[Row]:
    """Every row of the symbol's ``*.parquet`` files, read by pyarrow, sorted by id."""
    import pyarrow.parquet as pq

    rows: list[Row] = []
    for f in sorted((root / f"symbol={symbol}").rglob("*.parquet")):
        t = pq.read_table(f).to_pydict()
        ts = [int(x.timestamp() * 1_000_000) if hasattr(x, "timestamp") else int(x)
              for x in t["timestamp"]]
        rows += zip(t["trade_id"], ts, t["price"], t["quantity"], t["is_buyer_maker"])
    return sorted((int(a), int(b), float(c), float(d), bool(e)) for a, b, c, d, e in rows)


def exact(tool: Tool, symbol: str, first_day: str, last_day: str) -> str:
    """'' if the lake equals the truth through the tool and through pyarrow, else why not."""
    want = truth(tool.sim, symbol, first_day, last_day)
    got = rows_by_tool(tool, symbol, first_day, last_day)
    if got != want:
        return f"query: {len(got)} rows, the exchange {len(want)} ({first_day}..{last_day})"
    eng = [r for r in rows_by_engine(tool.root, symbol)
           if us(first_day) <= r[1] < us(last_day) + US_PER_DAY]
    if eng != want:
        return f"pyarrow: {len(eng)} rows, the exchange {len(want)}"
    return ""


# ---- the lake's own files, found through what it records -------------------


def stats_files(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(path, parsed) of every statistics day file: the JSON files naming hours."""
    for p in sorted((root / "metadata").rglob("*.json")):
        try:
            doc = json.loads(p.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and "hours" in doc:
            yield p, doc


def hour_files(root: Path) -> list[tuple[int, Path]]:
    """(hour start µs, data file) of every stored non-empty hour, by the statistics."""
    out = []
    for _, doc in stats_files(root):
        day = us(doc["date"])
        out += [(day + h["hour"] * US_PER_HOUR, root / h["path"]) for h in doc["hours"] if h.get("path")]
    return sorted(out)


def wal_file(root: Path) -> Path:
    """The write-ahead log: the file under metadata/ that starts with its magic."""
    for p in sorted((root / "metadata").rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            with p.open("rb") as f:
                if f.read(8) == b"AGTWAL01":
                    return p
    raise AssertionError(f"no write-ahead log under {root}")


def stray_files(root: Path) -> list[Path]:
    """Temporary or leftover names (".<name>.tmp", ".<name>.prev", or those of the first
    layout) anywhere in the lake: none after a repair (a name set aside ends otherwise)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and re.search(r"\.(tmp|prev)$", p.name))


# ---- verify's claims ---------------------------------------------------------

PROBLEM = re.compile(r"^(\S+) (\d{4}-\d\d-\d\d \d\d:\d\d|-)\s")
SUMMARY = re.compile(r"^(\S+): [\d,]+ hours? from (\d{4}-\d\d-\d\d \d\d:\d\d) to "
                     r"(\d{4}-\d\d-\d\d \d\d:\d\d) verified")


def untruthful(tool: Tool, symbol: str) -> str:
    """Run ``verify`` (read only) and check its claim: '' if truthful, else why not.

    It must answer (exit 0 or 1, never a crash or an unreadable lake), and every
    hour of its range it does not name as a problem must hold exactly the
    exchange's trades, the newest stored hour included (the campaigns' hours
    are long over on the exchange, so none is open).
    """
    p = tool.run("verify", symbol)
    if p.returncode not in (0, 1):
        if "nothing stored" in p.stderr:
            return ""
        return f"verify exit {p.returncode}: {p.stderr.strip()[-300:]}"
    named, span = set(), None
    for line in p.stdout.splitlines():
        m = SUMMARY.match(line)
        if m:
            span = (iso_us(m.group(2).replace(" ", "T") + ":00Z"), iso_us(m.group(3).replace(" ", "T") + ":00Z"))
            continue
        m = PROBLEM.match(line)
        if m and m.group(2) != "-":
            named.add(iso_us(m.group(2).replace(" ", "T") + ":00Z"))
        elif m:
            return ""  # a problem of the whole lake (statistics, log): no hour is claimed
    if p.returncode == 0 and named:
        return "verify exit 0 naming problems"
    if span is None:
        return "" if p.returncode == 1 else f"verify printed no summary: {p.stdout[-300:]}"
    first, last = span[0], span[1] - span[1] % US_PER_HOUR
    claimed = [h for h in range(first - first % US_PER_HOUR, last + US_PER_HOUR, US_PER_HOUR)
               if h not in named]
    if not claimed:
        return ""
    def text(t: int) -> str:
        return dt.datetime.fromtimestamp(t / 1e6, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    runs: list[list[int]] = []  # maximal runs of consecutive claimed hours: one query each
    for h in claimed:
        if runs and runs[-1][-1] + US_PER_HOUR == h:
            runs[-1].append(h)
        else:
            runs.append([h])
    for run in runs:
        lo, hi = run[0], run[-1] + US_PER_HOUR - 1
        want = [(r["a"], r["T"], float(r["p"]), float(r["q"]), bool(r["m"]))
                for r in tool.sim.truth(symbol, lo, hi)]
        got = rows_by_tool(tool, symbol, text(lo), text(hi))
        if got != want:
            bad = next(h for h in run if [r for r in got if h <= r[1] < h + US_PER_HOUR]
                       != [r for r in want if h <= r[1] < h + US_PER_HOUR])
            return (f"verify (exit {p.returncode}) vouches for the hour {text(bad)[:13]} but it "
                    f"differs from the exchange's ({len(got)} rows against {len(want)} in its run)")
    return ""
