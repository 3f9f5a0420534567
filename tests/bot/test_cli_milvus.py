"""`--backend milvus` through the real CLI (Milvus Lite): build, ask, add, remove and stats
write and read through MilvusKnowledgeBase, and answers equal the default backend's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import app, cli
from index.metrics import read_jsonl

pytest.importorskip("pymilvus", reason="the Milvus backend needs the `milvus` extra")

ROOT = Path(__file__).resolve().parents[2]
DEV = read_jsonl(ROOT / "tests" / "data" / "dev_seed_qa.jsonl")


@pytest.fixture(autouse=True)
def shared_model(monkeypatch, embedder):
    monkeypatch.setattr(app, "load_embedder", lambda settings: embedder)
    monkeypatch.delenv("PASOKH_BACKEND", raising=False)
    monkeypatch.delenv("PASOKH_MILVUS_URI", raising=False)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _release(index_dir: Path) -> None:
    """Let go of the Milvus Lite file the in-process `ask` left open."""
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(index_dir / "milvus.db"))


@pytest.mark.timeout(900)
def test_milvus_backend_end_to_end_answers_as_the_default(tmp_path, seed_index_dir, capsys):
    index_dir = tmp_path / "idx"
    seeds = str(ROOT / "seeds")
    code, out, _ = run(
        capsys, "--backend", "milvus", "index", "build", seeds, "--index-dir", str(index_dir), "-q"
    )
    assert code == 0 and "2 added" in out
    assert (index_dir / "milvus.db").exists()
    assert not (index_dir / "CURRENT").exists() and not (index_dir / "versions").exists()

    code, out, _ = run(
        capsys, "index", "stats", "--json", "--backend", "milvus", "--index-dir", str(index_dir)
    )
    stats = json.loads(out)
    assert stats["backend"] == "milvus" and stats["articles"] == 2 and stats["chunks"] > 0

    try:
        for row in DEV[:4]:
            _, faiss_out, _ = run(
                capsys, "ask", row["question"], "--json", "--index-dir", str(seed_index_dir)
            )
            _, milvus_out, _ = run(
                capsys,
                "--backend",
                "milvus",
                "ask",
                row["question"],
                "--json",
                "--index-dir",
                str(index_dir),
            )
            faiss, milvus = json.loads(faiss_out), json.loads(milvus_out)
            assert milvus["answer"] == faiss["answer"], row["id"]
            assert [s["article_id"] for s in milvus["sources"]] == [
                s["article_id"] for s in faiss["sources"]
            ]
    finally:
        _release(index_dir)

    note = tmp_path / "g1.txt"
    note.write_text("به گزارش ایسنا، وزیر خارجه در ژنو درباره آب‌های مرزی سخنرانی کرد.", "utf-8")
    code, out, _ = run(
        capsys, "--backend", "milvus", "index", "add", str(note), "--index-dir", str(index_dir)
    )
    assert code == 0 and "1 added" in out and "3 articles" in out
    code, out, err = run(
        capsys,
        "--backend",
        "milvus",
        "index",
        "remove",
        "g1",
        "nope",
        "--index-dir",
        str(index_dir),
    )
    assert code == 1 and "1 removed" in out and "not in the index: nope" in err
    code, out, _ = run(
        capsys, "--backend", "milvus", "index", "stats", "--index-dir", str(index_dir)
    )
    assert "articles: 2" in out and "backend: milvus" in out


def test_unknown_backend_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--backend", "elastic", "ask", "سلام"])
    assert "invalid choice: 'elastic'" in capsys.readouterr().err


def test_backend_variable_and_flag(monkeypatch, tmp_path):
    monkeypatch.setenv("PASOKH_BACKEND", "milvus")
    assert app.load_settings(tmp_path).backend == "milvus"
    assert app.load_settings(tmp_path, backend="faiss").backend == "faiss"
    assert app.load_settings(tmp_path).milvus_location() == str(tmp_path / "milvus.db")
    monkeypatch.setenv("PASOKH_BACKEND", "Elastic")
    with pytest.raises(Exception, match="PASOKH_BACKEND must be one of faiss, milvus"):
        app.load_settings(tmp_path)
