"""Every input format, and every kind of bad input, each named in one line."""

import json
from pathlib import Path

import pytest

from index.persian import fold_characters
from index.readers import decode_bytes, read_file, read_paths

ROOT = Path(__file__).resolve().parents[2]
PERSIAN = "به گزارش ایرنا، وزیر امور خارجه امروز به مسکو سفر کرد. او با همتای روسی دیدار کرد./ایسنا"


def test_seed_txt_sources_title_and_signature():
    result = read_paths([ROOT / "seeds"])
    assert not result.problems
    by_id = {a.id: a for a in result.articles}
    esfand = by_id["000_42826dca8da319ad"]
    assert esfand.sources == ["خبرمهم", "ایرنا", "عصرایران"]
    assert esfand.title.startswith("حسین امیرعبداللهیان وزیر امور خارجه کشورمان")
    assert len(esfand.title) <= 91
    assert not esfand.text.endswith("عصرایران")
    assert esfand.text.endswith("باز نخواهد داشت.")
    farvardin = by_id["004_87a0e038c51b7fc2"]
    assert farvardin.sources == ["راهبرد معاصر", "فارس"]
    assert farvardin.text.endswith("مورد تأکید قرار داد.")


def test_txt(tmp_path):
    (tmp_path / "a1.txt").write_text(PERSIAN, encoding="utf-8")
    result = read_file(tmp_path / "a1.txt")
    (article,) = result.articles
    assert article.id == "a1"
    assert article.sources == ["ایرنا", "ایسنا"]
    assert article.title == "وزیر امور خارجه امروز به مسکو سفر کرد"


def test_markdown_front_matter(tmp_path):
    path = tmp_path / "m.md"
    path.write_text(
        "---\ntitle: سفر به مسکو\ndate: 1402-01-08\nsource: فارس\nurl: https://example.org/a\n"
        "---\n# عنوان دیگر\n\nمتن خبر درباره‌ی سفر وزیر.\n",
        encoding="utf-8",
    )
    (article,) = read_file(path).articles
    assert (article.title, article.published, article.sources[0], article.url) == (
        "سفر به مسکو", "1402-01-08", "فارس", "https://example.org/a",
    )  # fmt: skip
    assert "عنوان دیگر" in article.text and "---" not in article.text


def test_markdown_without_front_matter_takes_heading_as_title(tmp_path):
    path = tmp_path / "m.md"
    path.write_text("# دیدار در مسکو\n\nمتن خبر.", encoding="utf-8")
    (article,) = read_file(path).articles
    assert article.title == "دیدار در مسکو" and article.text == "متن خبر."


def test_json_object_and_list(tmp_path):
    one = {"id": "x-1", "title": "عنوان", "body": "متن یک.", "source": "ایرنا",
           "published": "2023-03-28", "url": "u"}  # fmt: skip
    (tmp_path / "one.json").write_text(json.dumps(one, ensure_ascii=False), encoding="utf-8")
    (article,) = read_file(tmp_path / "one.json").articles
    assert (article.id, article.text, article.published) == ("x-1", "متن یک.", "2023-03-28")
    many = [
        {"id": "a", "text": "متن الف."},
        {"id": "b", "title": "بی‌متن"},
        {"id": "c", "text": "ج."},
    ]
    (tmp_path / "many.json").write_text(json.dumps(many, ensure_ascii=False), encoding="utf-8")
    result = read_file(tmp_path / "many.json")
    assert [a.id for a in result.articles] == ["a", "c"]
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'many.json'}: item 2: article has no text (fields text or body)"
    ]


def test_jsonl_bad_line_named_good_lines_land(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(
        '{"id": "k1", "text": "متن یک."}\n{"id": "k2", "text": \n\n{"id": "k3", "body": "سه."}\n',
        encoding="utf-8",
    )
    result = read_file(path)
    assert [a.id for a in result.articles] == ["k1", "k3"]
    (problem,) = result.problems
    assert problem.line == 2
    assert str(problem).startswith(f"{path}:2: malformed JSON")


def test_malformed_json_names_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "id": "z",\n  "text": "x",,\n}', encoding="utf-8")
    (problem,) = read_file(path).problems
    assert problem.line == 3 and "malformed JSON" in problem.message


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\n ", "empty file"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, "binary file"),
        ("notext.json", '{"id": "q", "title": "فقط عنوان"}'.encode(), "article has no text"),
        ("sheet.csv", b"a,b", "unsupported file type .csv"),
    ],
)
def test_bad_inputs_one_line_each(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = read_file(path)
    assert not result.articles
    (problem,) = result.problems
    assert message in str(problem) and str(path) in str(problem)
    assert "\n" not in str(problem)


def test_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("متن " * 1000, encoding="utf-8")
    (problem,) = read_file(path, max_file_bytes=1000).problems
    assert "over the" in problem.message and "limit" in problem.message


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (PERSIAN.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + PERSIAN.encode("utf-8"), "utf-8 with BOM"),
        (PERSIAN.encode("utf-16"), "utf-16"),
        # Windows-1256 has no Persian yeh: such files carry the Arabic one.
        (PERSIAN.replace("ی", "ي").encode("cp1256"), "Windows-1256"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "cp1256"],
)
def test_encodings(tmp_path, data, encoding):
    text, used = decode_bytes(data)
    assert used == encoding
    assert "وزیر امور خارجه" in fold_characters(text)
    path = tmp_path / "enc.txt"
    path.write_bytes(data)
    result = read_file(path)
    assert result.articles and not result.problems
    if encoding != "utf-8":
        assert result.notes == [f"{path}: read as {encoding}"]


def test_folder_is_read_recursively_and_problems_do_not_stop_it(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.txt").write_text(PERSIAN, encoding="utf-8")
    (tmp_path / "sub" / "b.md").write_text("# ب\n\nمتن ب.", encoding="utf-8")
    (tmp_path / "sub" / "deeper" / "c.jsonl").write_text('{"id": "c", "text": "ج."}\n', "utf-8")
    (tmp_path / "sub" / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "sub" / "ignored.png").write_bytes(b"\x89PNG")
    result = read_paths([tmp_path])
    assert sorted(a.id for a in result.articles) == ["a", "b", "c"]
    assert [p.message for p in result.problems] == ["empty file"]
