"""Dates named in either calendar meet the other: "15 March" finds "۱۵ مارس (۲۴ اسفند)".

Articles give a Gregorian date with its Jalali twin or only one of the two; a
question may use either. `expand_dates` appends, for every day-and-month it
finds, the same day in the other calendar (jdatetime does the arithmetic). With
no year given, the day is converted in two nearby years, since the Jalali day
of a Gregorian date moves by one around leap years: the year of a reference date
(the article's own date, when the caller knows it; else today) and the year before.
"""

from __future__ import annotations

import datetime as dt
import re

import jdatetime

from index.persian import GREGORIAN_MONTHS, JALALI_MONTHS, MONTH_VARIANTS, normalize_for_matching

_GREGORIAN = {name: i for i, name in enumerate(GREGORIAN_MONTHS, start=1)}
_GREGORIAN.update({k: _GREGORIAN[v] for k, v in MONTH_VARIANTS.items()})
_JALALI = {name: i for i, name in enumerate(JALALI_MONTHS, start=1)}
_ALL_MONTHS = "|".join(sorted({*_GREGORIAN, *_JALALI}, key=len, reverse=True))
_DAY_MONTH_RE = re.compile(
    rf"(?<![\w.])(\d{{1,2}})\s+({_ALL_MONTHS})(?!\w)(?:\s+(?:ماه\s+)?(?:سال\s+)?(\d{{4}}))?"
)
_MONTH_DAY_RE = re.compile(rf"(?<!\w)({_ALL_MONTHS})\s+(\d{{1,2}})(?![\w.])(?:,?\s+(\d{{4}}))?")


def nearby_years(gregorian: bool, reference: dt.date | None = None) -> tuple[int, int]:
    """The year before `reference` (default today) and its own, in the given calendar."""
    ref = reference or dt.date.today()
    year = ref.year if gregorian else jdatetime.date.fromgregorian(date=ref).year
    return (year - 1, year)


def find_dates(normalized: str) -> list[tuple[int, str, int | None]]:
    """(day, month name, year or None) for each day-and-month in a normalized text."""
    found = [
        (int(m.group(1)), m.group(2), int(m.group(3)) if m.group(3) else None)
        for m in _DAY_MONTH_RE.finditer(normalized)
    ]
    found += [
        (int(m.group(2)), m.group(1), int(m.group(3)) if m.group(3) else None)
        for m in _MONTH_DAY_RE.finditer(normalized)
    ]
    return [d for d in found if 1 <= d[0] <= 31]


def equivalent_dates(
    day: int, month: str, year: int | None, reference: dt.date | None = None
) -> list[str]:
    """The same day in the other calendar, as "D monthname [YYYY]" in matching form; a date
    without a year is read in the years near `reference` (default today)."""
    out: list[str] = []
    if month in _GREGORIAN:
        for y in (year,) if year else nearby_years(True, reference):
            try:
                j = jdatetime.date.fromgregorian(date=dt.date(y, _GREGORIAN[month], day))
            except ValueError:
                continue
            out.append(f"{j.day} {JALALI_MONTHS[j.month - 1]}" + (f" {j.year}" if year else ""))
    else:
        for y in (year,) if year else nearby_years(False, reference):
            try:
                g = jdatetime.date(y, _JALALI[month], day).togregorian()
            except ValueError:
                continue
            out.append(f"{g.day} {GREGORIAN_MONTHS[g.month - 1]}" + (f" {g.year}" if year else ""))
    return list(dict.fromkeys(out))


def expand_dates(text: str, reference: dt.date | None = None) -> str:
    """The text followed by the other-calendar form of every date it names."""
    extra = [
        form
        for day, month, year in find_dates(normalize_for_matching(text))
        for form in equivalent_dates(day, _canonical(month), year, reference)
    ]
    return text if not extra else text + " " + " ".join(extra)


def date_variants(text: str, reference: dt.date | None = None) -> list[str]:
    """The text (normalized), then the same text with its dates in the other calendar.

    For judging whether a passage covers a question: "۲۸ مارس" is covered by a
    passage that says "هشتم فروردین", and must not count as two missing words.
    """
    normalized = normalize_for_matching(text)
    variants = [normalized]
    for pattern, day_group, month_group, year_group in (
        (_DAY_MONTH_RE, 1, 2, 3),
        (_MONTH_DAY_RE, 2, 1, 3),
    ):
        for m in pattern.finditer(normalized):
            year = int(m.group(year_group)) if m.group(year_group) else None
            for form in equivalent_dates(
                int(m.group(day_group)), _canonical(m.group(month_group)), year, reference
            ):
                variants.append(normalized[: m.start()] + form + normalized[m.end() :])
    return list(dict.fromkeys(variants))


def _canonical(month: str) -> str:
    return MONTH_VARIANTS.get(month, month)


# Every repeat is bounded, so a match is at most ~100 characters wide and the work per
# start position is bounded: linear in the text. (The unbounded `[^\s\d]+م` it replaces
# rescanned the rest of a long run without spaces from every position: 20,000 such
# characters took seconds.) Ordinals start a word; no ordinal or month name is 20 letters.
_WORD = r"[^\s\d()،,.]"
_ORIGINAL_DATE_RE = re.compile(
    rf"(?:[0-9۰-۹]{{1,2}}|(?<![^\s\d])[^\s\d]{{0,20}}م)\s{{1,8}}{_WORD}{{1,20}}(?!{_WORD})"
    r"(?:\s{0,8}\([^)]{1,20}\))?"
)


def date_mentions(text: str) -> list[str]:
    """Day-and-month phrases as written in the original text ("۱۵ مارس (۲۴ اسفند)", "هشتم
    فروردین"), for showing when an article's events happened if no publication date is known."""
    found = []
    for m in _ORIGINAL_DATE_RE.finditer(text):
        phrase = m.group(0)
        if find_dates(normalize_for_matching(phrase.split("(")[0])):
            found.append(phrase.strip())
    return found


_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def date_words(date: str) -> frozenset[str]:
    """The words of an article's date in both calendars, in matching form: "2022-03-15" →
    2022, مارس, 1400, اسفند, 22 and 00 (the short years); a written date keeps its words
    and gains its twin in the other calendar. For telling which trip a date names."""
    normalized = re.sub(r"\s*-\s*", "-", normalize_for_matching(date))
    words = set(re.findall(r"\w+", normalized))
    iso = _ISO_RE.search(normalized)
    if iso:
        try:
            day = dt.date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            day = None
        if day is not None:
            j = jdatetime.date.fromgregorian(date=day)
            words |= {str(day.year), GREGORIAN_MONTHS[day.month - 1], str(j.year)}
            words.add(JALALI_MONTHS[j.month - 1])
    else:
        words |= set(re.findall(r"\w+", expand_dates(normalized)))
    return frozenset(words | {w[-2:] for w in words if w.isdigit() and len(w) == 4})
