"""YAML front matter: fields and body, or a Skip naming the line."""

import pytest

from index.decoding import Skip
from index.front_matter import split_front_matter


def test_fields_and_the_text_after_them():
    meta, text = split_front_matter("---\ntitle: سفر وزیر\ndate: 2022-03-15\n---\nمتن خبر")
    assert meta["title"] == "سفر وزیر" and text == "متن خبر"


def test_no_front_matter_keeps_the_text():
    assert split_front_matter("# عنوان\nمتن") == ({}, "# عنوان\nمتن")


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("---\ntitle: [unclosed\n---\nمتن", "malformed front matter", None),
        ("---\na: &x [1]\nb: *x\n---\nمتن", "aliases", None),
        ("---\n- a\n- b\n---\nمتن", "not a mapping", 2),
        ("---\nt: " + "[" * 50 + "]" * 50 + "\n---\nمتن", "nested too deeply", 2),
    ],
)
def test_bad_front_matter_names_its_line(text, message, line):
    with pytest.raises(Skip, match=message) as raised:
        split_front_matter(text)
    assert raised.value.line is not None
    if line is not None:
        assert raised.value.line == line
