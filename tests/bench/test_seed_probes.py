"""The seed probes (bench/data/seed_probe_session*.jsonl): questions we wrote on the two
seed articles, the way people type them, to see what a new user would get. Each
answerable question's gold is in a seed article; each unanswerable one has none."""

import json
from pathlib import Path

import pytest

from index.persian import gold_in_text

ROOT = Path(__file__).resolve().parents[2]
PROBES = sorted((ROOT / "bench" / "data").glob("seed_probe_session*.jsonl"))
SEEDS = "\n".join(p.read_text("utf-8") for p in sorted((ROOT / "seeds").glob("*.txt")))


def test_there_are_probes():
    assert len(PROBES) >= 2


@pytest.mark.parametrize("path", PROBES, ids=lambda p: p.name)
def test_each_gold_is_in_a_seed_and_each_unanswerable_has_none(path):
    ids = set()
    for line in path.read_text("utf-8").splitlines():
        q = json.loads(line)
        assert q["id"] not in ids
        ids.add(q["id"])
        if q["answerable"]:
            assert q["gold_any"] and gold_in_text(q["gold_any"], SEEDS), q
        else:
            assert not q["gold_any"], q
