"""Shared fixtures: the real default model, loaded once, and a seed index built with it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
DEV_QA = SHARED / "eval" / "dev_seed_qa.jsonl"
if not DEV_QA.exists():  # a checkout without ../shared: the copy kept in the repository
    DEV_QA = ROOT / "tests" / "data" / "dev_seed_qa.jsonl"


@pytest.fixture(scope="session")
def embedder():
    from bot import app

    return app.load_embedder(app.load_settings())


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory, embedder) -> Path:
    from index.readers import read_paths
    from index.store import update_index

    index_dir = tmp_path_factory.mktemp("seed-index")
    update_index(index_dir, embedder, read_paths([SEEDS]).articles, fresh=True)
    return index_dir


@pytest.fixture(scope="session")
def seed_kb(seed_index_dir, embedder):
    from index.search import KnowledgeBase

    return KnowledgeBase(seed_index_dir, embedder)


@pytest.fixture()
def seed_index_copy(seed_index_dir, tmp_path) -> Path:
    """A private copy of the seed index that a test may change."""
    target = tmp_path / "index"
    shutil.copytree(seed_index_dir, target)
    return target


@pytest.fixture(scope="session")
def dev_questions() -> list[dict]:
    from index.metrics import read_jsonl

    return read_jsonl(DEV_QA)
