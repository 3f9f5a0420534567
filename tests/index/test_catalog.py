"""The catalog's stored sentence vectors: int8 with a scale per vector, and the upgrade of
the first layout (a float32 row per sentence) without embedding anything again."""

import sqlite3

import numpy as np
import pytest

from index import catalog
from index.search import KnowledgeBase
from index.store import update_index

RNG = np.random.default_rng(7)


def _unit(rows: int, dims: int = 384) -> np.ndarray:
    vectors = RNG.standard_normal((rows, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _outlier(rows: int) -> np.ndarray:
    vectors = _unit(rows) * np.r_[np.full(383, 1.0), 4.0].astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize(
    "vectors",
    [
        _unit(1),
        _unit(7),
        np.zeros((1, 384), np.float32),  # a zero vector stays zero (no division by 0)
        np.eye(3, 384, dtype=np.float32),  # one large component
        _outlier(4),  # one dimension above the others (e5: max ~0.16)
    ],
)
def test_int8_vectors_keep_their_cosines(vectors):
    codes, scales = catalog.quantize(vectors)
    assert codes.dtype == np.int8 and scales.dtype == np.float32
    back = catalog.dequantize(codes, scales)
    assert np.max(np.abs(back - vectors)) <= np.max(scales)
    queries = _unit(20)
    assert np.max(np.abs(queries @ back.T - queries @ vectors.T)) < 2e-3


@pytest.mark.parametrize(
    ("spans", "rows"),
    [([(0, 12)], 1), ([(0, 40), (41, 95), (96, 130)], 3), ([(5, 6), (7, 700)], 2)],
)
def test_a_chunk_row_reads_back(tmp_path, spans, rows):
    db = catalog.connect(tmp_path)
    vectors = _unit(rows)
    catalog.insert_sentences(db, [42], [spans], [vectors])
    (found_spans, found) = catalog.sentences(db, [42, 43], 384)[42]
    assert found_spans == spans and found.dtype == np.float32
    assert np.min(np.sum(found * vectors, axis=1)) > 0.9999
    assert catalog.sentences(db, [43], 384) == {}


def _to_first_layout(index_dir, dims: int) -> dict:
    """Rewrite an index's sentences as the first layout wrote them; returns what was there."""
    db = sqlite3.connect(index_dir / "catalog.sqlite", isolation_level=None)
    ids = [row[0] for row in db.execute("SELECT chunk_id FROM sentences")]
    before = catalog.sentences(db, ids, dims)
    db.execute("DROP TABLE sentences")
    db.execute(
        "CREATE TABLE sentences (chunk_id INTEGER NOT NULL, position INTEGER NOT NULL,"
        " start INTEGER NOT NULL, end INTEGER NOT NULL, vector BLOB,"
        " PRIMARY KEY (chunk_id, position)) WITHOUT ROWID"
    )
    for chunk_id, (spans, vectors) in before.items():
        for position, ((start, end), vector) in enumerate(zip(spans, vectors, strict=True)):
            db.execute(
                "INSERT INTO sentences VALUES (?, ?, ?, ?, ?)",
                (chunk_id, position, start, end, vector.astype(np.float32).tobytes()),
            )
    db.close()
    return before


def test_first_layout_is_read_then_upgraded_on_the_next_write(seed_index_copy, embedder):
    before = _to_first_layout(seed_index_copy, embedder.dimensions)
    assert before
    kb = KnowledgeBase(seed_index_copy, embedder)  # a reader before the upgrade
    old = kb.sentence_vectors(before)
    assert {c: s for c, (s, _) in old.items()} == {c: s for c, (s, _) in before.items()}
    update_index(seed_index_copy, embedder, [])  # a write upgrades (nothing re-embedded)
    db = sqlite3.connect(seed_index_copy / "catalog.sqlite")
    columns = {row[1] for row in db.execute("PRAGMA table_info(sentences)")}
    assert columns == {"chunk_id", "spans", "codes", "scales"}
    assert db.execute("SELECT name FROM sqlite_master WHERE name LIKE '%first%'").fetchall() == []
    after = catalog.sentences(db, list(before), embedder.dimensions)
    assert set(after) == set(before)
    for chunk_id, (spans, vectors) in before.items():
        assert after[chunk_id][0] == spans
        assert np.min(np.sum(after[chunk_id][1] * vectors, axis=1)) > 0.9999
    assert kb.sentence_vectors(before).keys() == before.keys()  # the old reader goes on


def test_the_writer_keeps_the_wal_file_bounded(tmp_path):
    """A 250k-chunk write left a 632 MB WAL behind; the writer's connection caps it."""
    db = catalog.connect(tmp_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA journal_size_limit").fetchone()[0] == 64 * 1024 * 1024
