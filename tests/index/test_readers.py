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


# -- hostile input (issue 10): one bad record is named and skipped, the rest lands -----
@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "s", "text": "متن.", "source": 5}, 'field "source" is a number, expected text'),
        ({"id": "t", "text": "متن.", "title": {"fa": "عنوان"}}, 'field "title" is an object'),
        ({"id": "u", "text": "متن.", "url": ["a", "b"]}, 'field "url" is a list'),
        ({"id": "v", "text": ["متن", "دو"]}, 'field "text" is a list'),
        ({"id": "w", "text": "متن.", "source": ["ایرنا", 7]}, 'field "source" is a list'),
        ({"id": ["x"], "text": "متن."}, 'field "id" is a list'),
        ({"id": "   ", "text": "متن."}, "the id is empty"),
        ({"id": "", "text": "متن."}, "the id is empty"),
        ({"id": "a\x1b[2Jb", "text": "متن."}, "the id holds control characters"),
    ],
    ids=["source-number", "title-object", "url-list", "text-list", "source-list-number",
         "id-list", "id-spaces", "id-empty", "id-escape"],
)  # fmt: skip
def test_bad_field_is_a_named_skip_and_the_rest_lands(tmp_path, record, message):
    good = {"id": "good", "text": "به گزارش ایرنا، وزیر به مسکو رفت.", "source": "ایرنا"}
    path = tmp_path / "feed.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in (good, record, {**good, "id": "g2"})]
    path.write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "beside.txt").write_text(PERSIAN, encoding="utf-8")
    result = read_paths([tmp_path])
    assert sorted(a.id for a in result.articles) == ["beside", "g2", "good"]
    (problem,) = result.problems
    assert problem.line == 2 and message in problem.message, str(problem)


def test_deeply_nested_json_is_a_named_skip(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (tmp_path / "deep.jsonl").write_text('{"a": ' * 50_000 + "1" + "}" * 50_000, "utf-8")
    (tmp_path / "huge-int.json").write_text('{"id": ' + "9" * 5000 + ', "text": "x"}', "utf-8")
    (tmp_path / "ok.txt").write_text(PERSIAN, encoding="utf-8")
    result = read_paths([tmp_path])
    assert [a.id for a in result.articles] == ["ok"]
    messages = {Path(p.path).name: p.message for p in result.problems}
    assert messages["deep.json"] == messages["deep.jsonl"] == "JSON nested too deeply"
    assert messages["huge-int.json"].startswith("malformed JSON")


def test_one_invalid_byte_keeps_utf8_and_names_the_file(tmp_path):
    data = PERSIAN.encode("utf-8")
    data = data[:40] + b"\xff" + data[40:]  # one bad byte between two characters
    path = tmp_path / "one-bad-byte.txt"
    path.write_bytes(data)
    result = read_file(path)
    (article,) = result.articles
    assert "خارجه امروز به مسکو سفر کرد" in article.text  # not mojibake
    assert article.text.count("\ufffd") == 1
    (note,) = result.notes
    assert note.startswith(f"{path}: 1 invalid UTF-8 byte") and "line 1" in note


def test_utf8_bom_with_a_bad_byte_is_read_not_raised(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + PERSIAN.encode("utf-8") + b"\n\xc3")
    result = read_file(path)
    assert result.articles and "replaced by U+FFFD (first on line 2)" in result.notes[-1]


def test_random_bytes_are_not_indexed_as_text(tmp_path):
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(range(128, 256)) * 40)
    (problem,) = read_file(path).problems
    assert "not UTF-8 or Windows-1256 text" in problem.message


def test_line_separator_inside_a_jsonl_string_does_not_split_the_record(tmp_path):
    path = tmp_path / "ls.jsonl"
    records = [
        {"id": "p1", "text": "بند اول.\u2028بند دوم\u2029 و\x85 پایان."},
        {"id": "p2", "text": "دومی."},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\r\n", "utf-8")
    result = read_file(path)
    assert not result.problems
    assert [a.id for a in result.articles] == ["p1", "p2"]
    assert "\u2028" in result.articles[0].text


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_duplicate_ids_in_one_file_are_named(tmp_path, suffix):
    records = [
        {"id": "d", "text": "اول."},
        {"id": "e", "text": "دوم."},
        {"id": "d", "text": "سوم."},
    ]
    path = tmp_path / f"dup{suffix}"
    if suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    else:
        path.write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    result = read_file(path)
    assert [(a.id, a.text) for a in result.articles] == [("d", "اول."), ("e", "دوم.")]
    (problem,) = result.problems
    where = "line 1" if suffix == ".jsonl" else "item 1"
    assert f"id 'd' already used on {where}; skipped" in str(problem).replace("by ", "on ")


def test_same_id_in_two_files_is_named(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "news.txt").write_text(PERSIAN, encoding="utf-8")
    (tmp_path / "b" / "news.txt").write_text("خبری دیگر.", encoding="utf-8")
    result = read_paths([tmp_path])
    assert [a.path for a in result.articles] == [str(tmp_path / "a" / "news.txt")]
    (problem,) = result.problems
    assert problem.path == str(tmp_path / "b" / "news.txt") and "already read from" in str(problem)


def test_missing_ids_come_from_the_content_not_the_file_name(tmp_path):
    """Two uploads both named news.json must not replace each other; the same one twice
    gets the same id."""
    first, second = tmp_path / "1", tmp_path / "2"
    first.mkdir()
    second.mkdir()
    (first / "news.json").write_text('[{"text": "الف."}, {"text": "ب."}]', "utf-8")
    (second / "news.json").write_text('[{"text": "پ."}, {"text": "ت."}]', "utf-8")
    ids_1 = [a.id for a in read_file(first / "news.json").articles]
    ids_2 = [a.id for a in read_file(second / "news.json").articles]
    assert len(set(ids_1 + ids_2)) == 4
    assert not any(i.startswith("news") for i in ids_1 + ids_2)
    assert ids_1 == [a.id for a in read_file(first / "news.json").articles]  # stable
    (tmp_path / "a.txt").write_text("خبر یک.", "utf-8")
    (tmp_path / "b.txt").write_text("خبر یک.", "utf-8")
    (one,) = read_file(tmp_path / "a.txt", display_name="news.txt", content_ids=True).articles
    (two,) = read_file(tmp_path / "b.txt", display_name="news.txt", content_ids=True).articles
    assert one.id == two.id != "news"


def test_yaml_alias_bomb_in_front_matter_is_refused(tmp_path):
    bomb = ['a: &a ["خنده","خنده","خنده","خنده","خنده","خنده","خنده","خنده","خنده"]']
    for level in "bcdefghi":
        prev = chr(ord(level) - 1)
        bomb.append(f"{level}: &{level} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    bomb.append("title: *i")
    path = tmp_path / "bomb.md"
    path.write_text("---\n" + "\n".join(bomb) + "\n---\nمتن خبر.", encoding="utf-8")
    (tmp_path / "good.md").write_text("---\ntitle: سفر\n---\nمتن.", encoding="utf-8")
    result = read_paths([tmp_path])
    assert [a.id for a in result.articles] == ["good"]
    (problem,) = result.problems
    assert "aliases (*name) are not allowed" in problem.message and problem.line == 3


def test_oversized_and_deep_front_matter_are_named(tmp_path):
    (tmp_path / "big.md").write_text("---\nx: " + "آ" * 70_000 + "\n---\nمتن.", "utf-8")
    (tmp_path / "deep.md").write_text("---\nx: " + "[" * 2_000 + "\n---\nمتن.", "utf-8")
    (tmp_path / "dashes.md").write_text("---\nx:\n" + "- " * 2_000 + "a\n---\nمتن.", "utf-8")
    result = read_paths([tmp_path])
    assert not result.articles
    messages = {Path(p.path).name: p.message for p in result.problems}
    assert messages["big.md"] == "front matter is over 16 KB"
    assert messages["deep.md"] == messages["dashes.md"] == "front matter is nested too deeply"


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("title: 1402\ndate: 2023-03-28", ("1402", "2023-03-28")),
        ("title: سفر\ndate: ۸ فروردین ۱۴۰۲", ("سفر", "۸ فروردین ۱۴۰۲")),
    ],
)
def test_yaml_scalars_in_front_matter_become_text(tmp_path, front, expected):
    path = tmp_path / "s.md"
    path.write_text(f"---\n{front}\n---\nمتن.", encoding="utf-8")
    (article,) = read_file(path).articles
    assert (article.title, article.published) == expected


def test_problem_line_escapes_control_characters_in_the_file_name(tmp_path):
    path = tmp_path / "a\x1b]0;pwned\x07\nb.txt"
    path.write_bytes(b"")
    (problem,) = read_file(path).problems
    assert str(problem).endswith("a\\x1b]0;pwned\\x07\\nb.txt: empty file")
