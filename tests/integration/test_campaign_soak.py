"""The short soak campaign (``make soak`` runs the full one): two symbols, three
days through both sources with 15 % mixed faults, a REST history floor, a
truncated and a corrupt archive day. The lake must equal the simulator's truth
wherever the exchange can prove an hour, and ``.retry`` name exactly the hours
nothing can prove (tests/campaign/soak.py)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "campaign"))
import soak  # noqa: E402


def test_short_soak(start_sim, tmp_path):
    sim = start_sim("--now", soak.NOW)
    r = soak.campaign(sim, tmp_path / "lake", quick=True, fault_rate=0.15, seed=8,
                      log=lambda line: None)
    assert r["problems"] == []
    assert r["faults"] > 0 and r["unprovable"] > 0 and r["retry"] == r["unprovable"]
