"""Message splitting for Telegram's 4,096-character limit, and escaping."""

import pytest

from bot.rendering import split_message


def test_short_message_untouched():
    assert split_message("سلام") == ["سلام"]


def test_splits_at_sentence_or_line_never_inside_a_word():
    sentence = "امیرعبداللهیان و لاوروف درباره موافقتنامه جامع همکاریهای بلندمدت گفتوگو کردند. "
    text = sentence * 120
    pieces = split_message(text, limit=1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert "".join(p + " " for p in pieces).split() == text.split()
    assert all(p.endswith(".") for p in pieces[:-1])


@pytest.mark.parametrize("limit", [50, 64, 97, 200])
def test_never_inside_a_tag_or_entity_and_tags_balanced(limit):
    text = ("<b>منابع:</b> &lt;نام&gt; " + "کلمه " * 12 + "\n") * 10
    pieces = split_message(text, limit=limit)
    for piece in pieces:
        assert len(piece) <= limit
        assert piece.count("<b>") == piece.count("</b>")
        assert piece.count("<") == piece.count(">")
        assert "&lt" not in piece.replace("&lt;", "")


def test_giant_word_is_cut_somewhere_safe():
    pieces = split_message("<i>" + "ب" * 300 + "</i>", limit=100)
    assert all(len(p) <= 100 for p in pieces)
    assert "".join(p.replace("<i>", "").replace("</i>", "") for p in pieces) == "ب" * 300
