"""Incremental writes, atomic swaps, and a crash half-way that loses nothing."""

import json

import numpy as np
import pytest

from index.persian import sentence_spans
from index.readers import Article
from index.search import KnowledgeBase
from index.store import (
    ModelMismatch,
    current_version,
    passage_text,
    read_manifest,
    update_index,
)

NEW = Article(
    id="n1",
    title="دیدار وزیران در ژنو",
    text="وزیر امور خارجه ایران در ژنو با همتای سوئیسی خود درباره همکاری های آبی دیدار کرد.",
    sources=["ایسنا"],
)


class CountingEmbedder:
    """The real model, counting what it is asked to embed; optionally failing half-way."""

    def __init__(self, real, fail_after_calls: int | None = None) -> None:
        self.real = real
        self.name = real.name
        self.dimensions = real.dimensions
        self.max_tokens = real.max_tokens
        self.embedded: list[str] = []
        self.calls = 0
        self.fail_after_calls = fail_after_calls

    @property
    def pools_token_means(self):
        return self.real.pools_token_means

    def _count(self, texts):
        self.calls += 1
        if self.fail_after_calls is not None and self.calls > self.fail_after_calls:
            raise RuntimeError("simulated crash while embedding")
        self.embedded.extend(texts)

    def encode_passages(self, texts):
        self._count(texts)
        return self.real.encode_passages(texts)

    def encode_passages_with_spans(self, texts, spans):
        self._count(texts)
        return self.real.encode_passages_with_spans(texts, spans)

    def count_tokens(self, text):
        return self.real.count_tokens(text)


def test_add_again_and_change_and_remove(seed_index_copy, embedder):
    counting = CountingEmbedder(embedder)
    before = read_manifest(seed_index_copy)

    report = update_index(seed_index_copy, counting, [NEW])
    assert report.added == ["n1"] and len(report.unchanged) == 0
    assert report.articles == before["articles"] + 1
    assert counting.embedded and all("ژنو" in t for t in counting.embedded)

    counting.embedded.clear()
    version = current_version(seed_index_copy)
    again = update_index(seed_index_copy, counting, [NEW])
    assert again.unchanged == ["n1"] and not again.changed_anything
    assert current_version(seed_index_copy) == version == again.version  # nothing rewritten
    assert counting.embedded == []  # nothing embedded twice

    changed = Article(**{**NEW.__dict__, "text": NEW.text + " دو طرف بر ادامه گفت‌وگو تاکید کردند."})
    report = update_index(seed_index_copy, counting, [changed])
    assert report.changed == ["n1"]
    kb = KnowledgeBase(seed_index_copy, embedder)
    assert "تاکید کردند" in kb.article("n1").text
    assert kb.search("ژنو", top_k=1)[0].article_id == "n1"

    report = update_index(seed_index_copy, counting, remove_ids=["n1", "missing-id"])
    assert report.removed == ["n1"] and report.missing == ["missing-id"]
    kb = KnowledgeBase(seed_index_copy, embedder)
    assert kb.article("n1") is None
    assert all(p.article_id != "n1" for p in kb.search("ژنو", top_k=5))
    assert kb.manifest["articles"] == before["articles"]


def test_crash_half_way_keeps_previous_index(seed_index_copy, embedder):
    version = current_version(seed_index_copy)
    many = [
        Article(id=f"n{i}", title=f"خبر {i}", text=f"متن خبر شماره {i} درباره سفر به پکن.")
        for i in range(80)
    ]
    failing = CountingEmbedder(embedder, fail_after_calls=1)  # the second batch fails
    with pytest.raises(RuntimeError, match="simulated crash"):
        update_index(seed_index_copy, failing, many)
    assert failing.embedded  # it did get half-way
    assert current_version(seed_index_copy) == version
    assert not [p for p in (seed_index_copy / "versions").iterdir() if p.name.startswith(".")]
    kb = KnowledgeBase(seed_index_copy, embedder)
    assert kb.article("n1") is None
    assert kb.search("علیرضا حقیقیان چه سمتی دارد؟", top_k=1)[0].article_id.startswith("000")


def test_build_starts_afresh_and_manifest(seed_index_copy, embedder):
    update_index(seed_index_copy, embedder, [NEW], fresh=True)
    manifest = read_manifest(seed_index_copy)
    assert manifest["articles"] == 1
    assert manifest["model"] == embedder.name and manifest["dimensions"] == 384
    assert {"format_version", "version", "chunks", "built_at"} <= set(manifest)


def test_refuses_to_mix_models(seed_index_copy, embedder):
    other = CountingEmbedder(embedder)
    other.name = "some/other-model"
    with pytest.raises(ModelMismatch, match="pasokh index build"):
        update_index(seed_index_copy, other, [NEW])


def test_reader_keeps_its_snapshot_until_reload(seed_index_copy, embedder):
    kb = KnowledgeBase(seed_index_copy, embedder)
    old_version = kb.version
    update_index(seed_index_copy, embedder, [NEW])
    assert kb.version == old_version and kb.article("n1") is None
    assert kb.reload_if_changed() is True
    assert kb.article("n1") is not None and kb.version != old_version
    assert kb.reload_if_changed() is False


def test_vectors_are_normalized_and_stored(seed_index_dir):
    manifest = read_manifest(seed_index_dir)
    total = 0
    for segment in manifest["segments"]:
        vectors = np.load(seed_index_dir / "segments" / segment["name"] / "vectors.npy")
        assert np.allclose(np.linalg.norm(vectors.astype(np.float32), axis=1), 1.0, atol=1e-2)
        total += len(vectors)
    assert manifest["chunks"] == total
    assert manifest["dense"]["faiss_types"] == ["Flat"]  # the seeds are far below the threshold


def test_older_tokenization_is_refreshed_without_reembedding(seed_index_copy, embedder):
    from index.persian import TOKENIZATION

    live = seed_index_copy / "versions" / current_version(seed_index_copy) / "manifest.json"
    manifest = json.loads(live.read_text())
    live.write_text(json.dumps({**manifest, "tokenization": TOKENIZATION - 1}))
    counting = CountingEmbedder(embedder)
    report = update_index(seed_index_copy, counting, [])
    assert counting.embedded == []
    assert report.version != manifest["version"]
    assert read_manifest(seed_index_copy)["tokenization"] == TOKENIZATION
    kb = KnowledgeBase(seed_index_copy, embedder)
    assert kb.search("علیرضا حقیقیان", top_k=1)[0].article_id.startswith("000")


def _written_before_encoder_spelling(index_dir, embedder) -> tuple[dict, list[str]]:
    """The live manifest as an index written before encoder_spelling has it, and its ids."""
    live = index_dir / "versions" / current_version(index_dir) / "manifest.json"
    manifest = json.loads(live.read_text())
    del manifest["encoder_spelling"]
    live.write_text(json.dumps(manifest))
    return manifest, sorted(a.id for a in KnowledgeBase(index_dir, embedder).articles())


def test_vectors_of_an_older_encoder_spelling_are_embedded_again(seed_index_copy, embedder):
    """An index written before encoder_spelling: its next write embeds every article."""
    from index.persian import ENCODER_SPELLING

    manifest, seeds = _written_before_encoder_spelling(seed_index_copy, embedder)
    counting = CountingEmbedder(embedder)
    report = update_index(seed_index_copy, counting, [NEW])
    assert sorted(report.unchanged) == seeds and report.changed == []  # embedded, not changed
    assert report.added == ["n1"] and report.articles == manifest["articles"] + 1
    assert report.reembedded
    assert len(counting.embedded) == report.chunks  # every chunk, once
    assert read_manifest(seed_index_copy)["encoder_spelling"] == ENCODER_SPELLING
    counting.embedded.clear()
    again = update_index(seed_index_copy, counting, [NEW])  # now current: nothing to embed
    assert counting.embedded == [] and not again.reembedded


def test_removing_from_an_index_of_an_older_encoder_spelling(seed_index_copy, embedder):
    _, seeds = _written_before_encoder_spelling(seed_index_copy, embedder)
    report = update_index(seed_index_copy, embedder, remove_ids=[seeds[0], "nope"])
    assert report.removed == [seeds[0]] and report.missing == ["nope"]
    assert report.reembedded and report.articles == len(seeds) - 1
    assert [a.id for a in KnowledgeBase(seed_index_copy, embedder).articles()] == seeds[1:]


def test_sentences_of_every_chunk_are_stored_with_their_passage_vectors(seed_kb, embedder):
    """The answerer's sentence split, and vectors pooled from the chunk's own pass."""
    passages = seed_kb.search("امیرعبداللهیان در مسکو", top_k=5)
    stored = seed_kb.sentence_vectors(p.chunk_id for p in passages)
    assert set(stored) == {p.chunk_id for p in passages}
    for passage in passages:
        spans, vectors = stored[passage.chunk_id]
        assert spans == sentence_spans(passage.text)
        shift = len(passage.title) + 1  # passage_text: the title, a newline, the text
        _, (computed,) = embedder.encode_passages_with_spans(
            [passage_text(passage.title, passage.text)],
            [[(s + shift, e + shift) for s, e in spans]],
        )
        assert vectors.dtype == np.float32 and vectors.shape == computed.shape
        assert np.min(np.sum(vectors * computed, axis=1)) > 0.999  # stored as int8
        alone = embedder.encode_passages([passage.text[s:e] for s, e in spans])
        assert np.min(np.sum(vectors * alone, axis=1)) > 0.8  # the same sentences, in context
        assert len(spans) == 1 or np.max(np.sum(vectors * alone, axis=1)) < 0.9999


@pytest.mark.parametrize(
    "text, spans",
    [
        ("سلام دنیا. این یک آزمایش است.", [(0, 10), (11, 29)]),
        ("یک جمله", []),
        ("رئیس‌جمهور به مسکو رفت. وزیر خارجه هم رفت.", [(0, 23), (24, 42)]),
    ],
)
def test_pooled_passage_vector_is_the_models_vector(embedder, text, spans):
    """One pass gives the chunk's usual vector and a unit vector per span of it."""
    vectors, (pooled,) = embedder.encode_passages_with_spans([text], [spans])
    assert np.dot(vectors[0], embedder.encode_passages([text])[0]) > 0.99999
    assert pooled.shape == (len(spans), embedder.dimensions)
    assert np.allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-5)
    if len(spans) == 2:
        assert np.dot(pooled[0], pooled[1]) < 0.999  # each span its own tokens


def test_new_article_gets_its_sentences(seed_index_copy, embedder):
    update_index(seed_index_copy, embedder, [NEW])
    kb = KnowledgeBase(seed_index_copy, embedder)
    (passage,) = [p for p in kb.search("ژنو", top_k=5) if p.article_id == "n1"]
    spans, vectors = kb.sentence_vectors([passage.chunk_id])[passage.chunk_id]
    assert [passage.text[s:e] for s, e in spans] == [NEW.text]
    assert vectors.shape == (1, embedder.dimensions)
