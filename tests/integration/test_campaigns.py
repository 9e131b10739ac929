"""The short versions of the reliability campaigns (RELIABILITY.md), run by
``make test``: every kind of local damage repaired to an exact lake
(tests/campaign/damage.py --quick), and a dozen SIGKILLs across download,
update --force, retry and verify --repair with verify truthful after each
(tests/campaign/crashloop.py --kills 12). ``make damage`` and ``make
crashloop`` run the full ones.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

CAMPAIGN = Path(__file__).resolve().parents[1] / "campaign"
if str(CAMPAIGN) not in sys.path:
    sys.path.insert(0, str(CAMPAIGN))

import crashloop  # noqa: E402
import damage  # noqa: E402
from lakecheck import BIN  # noqa: E402

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")


def test_every_kind_of_damage_is_reported_then_repaired_exactly(start_sim: Any, tmp_path: Path) -> None:
    sim = start_sim("--now", damage.NOW, "--weight-limit", "1000000")
    out = damage.campaign(sim, tmp_path, "ETHBTC", ("2024-02-05", "2024-02-07"), quick=True,
                          log=lambda line: None)
    assert [o.kind for o in out] == list(damage.KINDS)
    bad = [o for o in out if not o.ok]
    assert not bad, damage.table(bad)
    # what a fetch can restore cost requests; what the lake derives or clears cost none
    by_kind = {o.kind: o for o in out}
    # one damaged file is one problem (a truncated file was counted twice: bytes and decoding)
    for kind in ("truncated hour file", "zero-length hour file", "garbage hour file",
                 "another hour's file copied over", "damaged write-ahead log"):
        assert by_kind[kind].problems == 1, (kind, by_kind[kind].problems)
    assert by_kind["deleted hour file"].requests > 0
    for kind in ("damaged statistics file", "damaged write-ahead log", "stray temporary files"):
        assert by_kind[kind].requests == 0, kind


def test_crashloop_damages_only_hours_its_commands_cover(start_sim: Any, tmp_path: Path) -> None:
    """Issue 8: a killed ``update --force`` leaves hours after DAYS in the lake (it
    refetches up to the exchange's now); ``prepare`` took its victims among every
    stored hour, but download and verify --repair, the final ones included, only
    cover DAYS: a file deleted or truncated after DAYS stayed so to the end (final
    verify: "1 missing", or pyarrow: "Parquet magic bytes not found in footer").
    The damage must fall inside DAYS only."""
    from lakecheck import Tool, hour_files, us, US_PER_DAY

    sim = start_sim("--now", crashloop.NOW, "--weight-limit", "1000000")
    tool = Tool(sim, tmp_path / "lake")
    assert tool.run("download", crashloop.SYMBOL, "--start", crashloop.DAYS[0],
                    "--end", "2024-02-07").returncode == 0
    hi = us(crashloop.DAYS[-1]) + US_PER_DAY
    outside = {f: f.read_bytes() for h, f in hour_files(tool.root) if h >= hi}
    assert outside  # the lake reaches beyond DAYS, as after a killed update --force
    for seed in range(8):
        rng = crashloop.random.Random(seed)
        for cmd in ("download", "verify --repair", "retry" if seed == 0 else "download"):
            crashloop.prepare(tool, cmd, rng)
        assert {f: f.read_bytes() for f in outside if f.exists()} == outside, seed
        assert tool.run(*crashloop.command("verify --repair")).returncode in (0, 1)
        if crashloop.retry_pending(tool):
            tool.run("retry")


def test_killed_at_random_moments_verify_stays_truthful(start_sim: Any, tmp_path: Path) -> None:
    sim = start_sim("--now", crashloop.NOW, "--weight-limit", "1000000")
    r = crashloop.campaign(sim, tmp_path / "lake", kills=12, seed=11, fault_rate=0.1,
                           log=lambda line: None)
    assert r["failures"] == []
    kills = r["kills"]
    assert isinstance(kills, dict) and sum(kills.values()) == 12
