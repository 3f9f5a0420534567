"""The date-phrase pattern runs over every article (on /start, too): it must stay linear.

Speed itself is measured by bench/hostile_text.py; here the property that makes it
linear is checked: every repeat in the pattern is bounded, so one match attempt reads at
most a fixed number of characters, whatever the text. The old pattern's `[^\\s\\d]+م` had
no bound and rescanned a long run without spaces from every position (quadratic).
"""

import pytest

from index import dates
from index.dates import date_mentions

try:  # the parser behind `re`, which reports the widest text a pattern can match
    from re import _parser as sre_parse
except ImportError:  # Python < 3.11
    import sre_parse  # type: ignore[no-redef]


def test_date_phrase_pattern_has_a_bounded_width():
    _low, high = sre_parse.parse(dates._ORIGINAL_DATE_RE.pattern).getwidth()
    assert high <= 100, f"a match can be {high} characters wide: unbounded repeat"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("وی ۱۵ مارس (۲۴ اسفند) گفت", ["۱۵ مارس (۲۴ اسفند)"]),
        ("سه شنبه شب هشتم فروردین ماه", ["هشتم فروردین"]),
        ("بیست و یکم اردیبهشت", ["یکم اردیبهشت"]),
        ("روز 12\nژوئن", ["12\nژوئن"]),
        ("در سال ۱۴۰۲ مارس", ["۰۲ مارس"]),  # as before: digits may start mid-number
        ("ب" * 20_000, []),
        ("م" * 20_000 + " فروردین", []),  # no ordinal is 20,000 letters long
        ("هشتم" * 5_000, []),
    ],
    ids=["gregorian-jalali", "ordinal", "compound-ordinal", "newline", "year-digits",
         "20k-no-space", "20k-then-month", "repeated-ordinal"],
)  # fmt: skip
def test_date_mentions_table(text, expected):
    assert date_mentions(text) == expected
