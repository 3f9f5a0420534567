"""Dates in either calendar or digit set find each other."""

import datetime as dt

import pytest

from index.dates import (
    date_mentions,
    date_variants,
    date_words,
    equivalent_dates,
    expand_dates,
    nearby_years,
)


@pytest.mark.parametrize(
    ("day", "month", "year", "expected"),
    [
        (15, "مارس", 2022, "24 اسفند 1400"),
        (24, "اسفند", 1400, "15 مارس 2022"),
        (8, "فروردین", 1402, "28 مارس 2023"),
        (20, "ژانویه", 2022, "30 دی 1400"),
    ],
)
def test_equivalent_dates_with_year(day, month, year, expected):
    assert equivalent_dates(day, month, year) == [expected]


@pytest.mark.parametrize(
    ("question", "added"),
    [
        ("در 15 March چه شد؟", "24 اسفند"),
        ("در ۱۵ مارس چه گذشت؟", "24 اسفند"),
        ("۲۴ اسفند چه خبر بود؟", "15 مارس"),
        ("هشتم فروردین", "28 مارس"),
    ],
)
def test_expand_dates_adds_the_other_calendar(question, added):
    assert added in expand_dates(question)


def test_no_date_no_change():
    assert expand_dates("علیرضا حقیقیان چه سمتی دارد؟") == "علیرضا حقیقیان چه سمتی دارد؟"


def test_date_mentions_keep_original_text():
    text = "وی ۱۵ مارس (۲۴ اسفند) در مورد برجام گفت وگو میکنند. سه شنبه شب هشتم فروردین ماه"
    assert date_mentions(text) == ["۱۵ مارس (۲۴ اسفند)", "هشتم فروردین"]


def test_date_variants_rewrite_the_date_in_the_other_calendar():
    assert date_variants("امیرعبداللهیان در ۲۸ مارس کجا بود؟") == [
        "امیرعبداللهیان در 28 مارس کجا بود؟",
        "امیرعبداللهیان در 8 فروردین کجا بود؟",
    ]
    assert date_variants("بدون تاریخ") == ["بدون تاریخ"]


@pytest.mark.parametrize(
    ("day", "month", "reference", "expected"),
    [
        # 1399 and 1403 are leap years: 15 March 2021 and 2025 are 25 Esfand, 15 March
        # 2022 and 2026 are 24 Esfand
        (15, "مارس", dt.date(2022, 3, 28), ["25 اسفند", "24 اسفند"]),
        (15, "مارس", dt.date(2026, 5, 1), ["25 اسفند", "24 اسفند"]),
        (15, "مارس", dt.date(2024, 1, 1), ["24 اسفند", "25 اسفند"]),
        (8, "فروردین", dt.date(2023, 3, 28), ["28 مارس"]),
        (24, "اسفند", dt.date(2022, 3, 28), ["15 مارس"]),
    ],
)
def test_dates_without_a_year_read_near_the_reference(day, month, reference, expected):
    assert equivalent_dates(day, month, None, reference) == expected


@pytest.mark.parametrize(
    ("reference", "gregorian", "jalali"),
    [(dt.date(2022, 3, 28), (2021, 2022), (1400, 1401)), (dt.date(2026, 1, 1), (2025, 2026), (1403, 1404))],
)  # fmt: skip
def test_nearby_years(reference, gregorian, jalali):
    assert nearby_years(True, reference) == gregorian
    assert nearby_years(False, reference) == jalali


def test_default_reference_is_today():
    today = dt.date.today()
    assert nearby_years(True) == (today.year - 1, today.year)


# (an article's date, words it must hold): both calendars, and the short year
DATE_WORDS = [
    ("2022-03-15", {"2022", "مارس", "1400", "اسفند", "22", "00"}),
    ("۱۵ مارس (۲۴ اسفند)", {"15", "مارس", "24", "اسفند"}),
    ("هشتم فروردین", {"8", "فروردین", "مارس"}),
    ("", set()),
]


@pytest.mark.parametrize(("date", "words"), DATE_WORDS)
def test_date_words(date, words):
    assert words <= date_words(date)
