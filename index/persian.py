"""All Persian text rules of Pasokh, in one place.

Display always uses an article's original text; everything here produces
*matching* forms only. The seeds were published with every ZWNJ stripped
("میکنند", "سهشنبه") while people type "می‌کنند", "سه شنبه", "سه‌شنبه", with
Arabic ي/ك and Latin or Persian digits. The rules below make all of these meet:

* characters are folded (Arabic letters and hamza forms to Persian, every digit
  to ASCII, diacritics and tatweel dropped) before and after hazm's Normalizer;
* hazm's Normalizer joins affixes and compounds with a ZWNJ ("می کنند" →
  "می‌کنند", "سه شنبه" → "سه‌شنبه"), and then every ZWNJ is removed, so the
  glued spelling of the seeds is the canonical one;
* compounds hazm does not know ("بین المللی") meet their glued form through
  joined bigrams emitted by :func:`matching_tokens`;
* decimals survive: hazm turns "۳.۵" into "۳ ٫ ۵", which is repaired to "3.5".
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from index.hazm_parts import Lemmatizer, Normalizer, SentenceTokenizer, Stemmer, stopwords_list
from index.settings import default_cache_dir

log = logging.getLogger(__name__)

ZWNJ = "\u200c"
# Bump when a rule below changes the lexical tokens: indexes built before are
# re-tokenized on their next write (index.store), and flagged when loaded.
TOKENIZATION = 5
# Bump when encoder_spelling changes what the encoder reads: indexes built before are
# re-embedded on their next write (index.store), and flagged when loaded.
ENCODER_SPELLING = 1

_CHAR_FOLDS = {
    "ي": "ی",
    "ى": "ی",
    "ك": "ک",
    "ة": "ه",
    "ۀ": "ه",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ء": "",
    "ـ": "",  # tatweel
    "٫": ".",  # Arabic decimal separator
    "٬": ",",  # Arabic thousands separator
    "\u200d": "",  # ZWJ
    "\u200e": "",  # LRM
    "\u200f": "",  # RLM
    "\ufeff": "",  # BOM
}
for _i in range(10):
    _CHAR_FOLDS[chr(0x06F0 + _i)] = str(_i)  # Persian digits
    _CHAR_FOLDS[chr(0x0660 + _i)] = str(_i)  # Arabic-Indic digits
_FOLD_TABLE = str.maketrans(_CHAR_FOLDS)
# What the encoder reads (encoder_spelling): the folds that map one character to one other,
# so that a sentence's offsets hold in its passage's encoder spelling too. The alef forms
# stay: "آ" and "ا" are different letters to a reader.
_ENCODER_TABLE = str.maketrans(
    {k: v for k, v in _CHAR_FOLDS.items() if len(v) == 1 and not v.isdigit() and k not in "إآٱ٫٬"}
    | {str(i): chr(0x06F0 + i) for i in range(10)}  # Latin digits as Persian
    | {chr(0x0660 + i): chr(0x06F0 + i) for i in range(10)}  # Arabic-Indic digits as Persian
)
_QUESTION_END_RE = re.compile(r"[\s?؟.!]*$")
# Arabic diacritics (harakat, tanwin, shadda, sukun, superscript alef, Quranic marks).
_DIACRITICS_RE = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
_DECIMAL_RE = re.compile(r"(\d)\s*[.٫]\s*(\d)")
_SLASH_NUMBER_RE = re.compile(r"(\d)\s*/\s*(\d)")
_SPACES_RE = re.compile(r"\s+")
# A token is a number (decimals kept whole) or a run of letters.
_TOKEN_RE = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+")

# Spelled-out ordinals a journalist writes before a month name ("هشتم فروردین").
_ORDINAL_WORDS = {
    "یکم": 1, "اول": 1, "دوم": 2, "سوم": 3, "چهارم": 4, "پنجم": 5, "ششم": 6, "هفتم": 7,
    "هشتم": 8, "نهم": 9, "دهم": 10, "یازدهم": 11, "دوازدهم": 12, "سیزدهم": 13,
    "چهاردهم": 14, "پانزدهم": 15, "پونزدهم": 15, "شانزدهم": 16, "هفدهم": 17, "هفتدهم": 17,
    "هجدهم": 18, "هیجدهم": 18, "نوزدهم": 19, "بیستم": 20, "سیام": 30, "سی ام": 30,
}  # fmt: skip
for _unit, _n in list(_ORDINAL_WORDS.items()):
    if 1 <= _n <= 9 and _unit != "اول":
        _ORDINAL_WORDS[f"بیست و {_unit}"] = 20 + _n
_ORDINAL_WORDS["سی و یکم"] = 31

JALALI_MONTHS = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "ابان", "اذر", "دی", "بهمن", "اسفند",
)  # fmt: skip
GREGORIAN_MONTHS = (
    "ژانویه", "فوریه", "مارس", "اوریل", "مه", "ژوین",
    "ژوییه", "اوت", "سپتامبر", "اکتبر", "نوامبر", "دسامبر",
)  # fmt: skip
# Other spellings (already folded) → the canonical folded month name above.
MONTH_VARIANTS = {
    "اپریل": "اوریل", "می": "مه", "جولای": "ژوییه", "اگوست": "اوت", "اکتوبر": "اکتبر",
    "دیسامبر": "دسامبر", "january": "ژانویه", "february": "فوریه",
    "march": "مارس", "april": "اوریل", "may": "مه", "june": "ژوین", "july": "ژوییه",
    "august": "اوت", "september": "سپتامبر", "october": "اکتبر", "november": "نوامبر",
    "december": "دسامبر", "jan": "ژانویه", "feb": "فوریه", "mar": "مارس", "apr": "اوریل",
    "jun": "ژوین", "jul": "ژوییه", "aug": "اوت", "sep": "سپتامبر", "sept": "سپتامبر",
    "oct": "اکتبر", "nov": "نوامبر", "dec": "دسامبر",
}  # fmt: skip
_MONTH_NAMES = "|".join(
    sorted({*JALALI_MONTHS, *GREGORIAN_MONTHS, *MONTH_VARIANTS}, key=len, reverse=True)
)
_ORDINAL_BEFORE_MONTH_RE = re.compile(
    r"(?<!\w)("
    + "|".join(sorted(map(re.escape, _ORDINAL_WORDS), key=len, reverse=True))
    + r")\s+(?=(?:"
    + _MONTH_NAMES
    + r")(?![\w\u200c]))"
)


# hazm glues "فروردین ماه" into "فروردین‌ماه"; keep the month name a word of its own.
_MONTH_GLUED_MAH_RE = re.compile(r"(?<!\w)(" + _MONTH_NAMES + r")\u200c?(?=ماه(?!\w))")


# Hamza on a seat is written, or not, at the writer's whim: هیأت / هیئت / هيئت / هیات,
# مسئول / مسؤول / مسوول, رئیس / رییس, سؤال / سئوال / سوال, ارائه / ارایه. After a ی the
# hamza reads as ا (هیئت → هیات); a ئ or ؤ before و is dropped and a doubled و merged
# (مسئول, مسؤول, مسوول → مسول), except after ا as in names (برانائو → برانایو);
# everywhere else the hamza becomes its seat's letter (رئیس → رییس, تأثیر → تاثیر,
# رأی → رای, رؤیا → رویا, ارائه → ارایه). A doubled ی is left alone: "جایی" is not
# "جای" (merging it, and dropping أ before ی as in رأی → ری, cost pquad_val's BM25
# hit@1 93.9 → 93.8; measured with bench/retrieval.py).
_HAMZA_AFTER_YEH_RE = re.compile("(?<=ی)[ئأ]")
_HAMZA_BEFORE_WAW_RE = re.compile("(?<!ا)[ئؤ](?=و)")
_HAMZA_SEATS = str.maketrans({"ئ": "ی", "أ": "ا", "ؤ": "و"})
_DOUBLED_WAW_RE = re.compile(r"(?<=\w)وو")


def fold_hamza(text: str) -> str:
    """One matching spelling for the hamza and yeh variants of a word (see above)."""
    text = _HAMZA_AFTER_YEH_RE.sub("ا", text.replace("ي", "ی"))
    text = _HAMZA_BEFORE_WAW_RE.sub("", text).translate(_HAMZA_SEATS)
    return _DOUBLED_WAW_RE.sub("و", text)


def encoder_spelling(text: str) -> str:
    """Text as the encoder reads it: Arabic yeh, kaf and teh marbuta as Persian, every digit
    Persian, character for character.

    Why: the encoder reads characters, so "مسكو" and "مسکو", "۱۴۰۱" and "1401" got vectors
    apart, and a question typed on an Arabic keyboard was answered from other sentences.
    Passages and questions are both embedded in this spelling (index.embedding). Persian
    digits, not ASCII: most articles write them (the seeds only), and over the training
    split they kept more answers (pquad 2,659 of 3,064 against 2,654, passage hit@1 96.7
    against 96.5). ZWNJ stays: the encoder's tokenizer already reads it as a space."""
    return text.translate(_ENCODER_TABLE)


def question_encoder_spelling(text: str) -> str:
    """A question as the encoder reads it: `encoder_spelling`, ending in one "؟", so that a
    question typed without its question mark (or with "?" or "؟؟") gets the same vector."""
    return _QUESTION_END_RE.sub("", encoder_spelling(text)) + "؟"


def fold_characters(text: str) -> str:
    """Fold letters, digits, diacritics and tatweel so that spelling variants compare equal."""
    text = unicodedata.normalize("NFC", text).translate(_FOLD_TABLE)
    return fold_hamza(_DIACRITICS_RE.sub("", text))


@lru_cache(maxsize=1)
def _hazm_normalizer() -> Normalizer:
    """hazm's Normalizer(persian_numbers=False), built without conjugating every verb.

    Why: `Normalizer()` builds a Lemmatizer only for `seperate_mi`, which asks whether
    "می‌" + a word is a verb form; conjugating all of hazm's verbs takes 0.4 s of the
    0.5 s the constructor costs (measured). Here it gets the same answer from the
    11k "می‌"/"نمی‌" forms, computed once per hazm install and kept in the cache folder.
    Output is identical (tests/index/test_persian.py compares it with the stock one).
    persian_numbers=False: digits stay ASCII after fold_characters."""
    normalizer = Normalizer(persian_numbers=False, seperate_mi=False)
    if not hasattr(normalizer, "_seperate_mi") or not hasattr(normalizer, "seperate_mi"):
        return Normalizer(persian_numbers=False)  # a hazm this shortcut does not know
    normalizer.verbs = mi_verb_forms()
    normalizer._seperate_mi = True
    return normalizer


# What hazm's seperate_mi looks up: "می" or "نمی", a ZWNJ, then letters (normalizer.py).
_MI_FORM_RE = re.compile(r"ن?می\u200c[آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی]+")


def mi_verb_forms(cache_dir: Path | None = None) -> frozenset[str]:
    """hazm's verb forms that `seperate_mi` can ask about, cached per hazm install."""
    found = Lemmatizer.__init__.__globals__  # hazm.lemmatizer's globals (see hazm_parts)
    sources = [Path(f) for f in (found.get("__file__"), found.get("default_verbs")) if f]

    def compute() -> list[str]:
        verbs = Lemmatizer(joined_verb_parts=False).verbs
        return [v for v in verbs if _MI_FORM_RE.fullmatch(v)]

    return _cached_words("hazm-mi-verbs", sources, compute, cache_dir)


def _cached_words(
    name: str, sources: list[Path], compute: Callable[[], Iterable[str]], cache_dir: Path | None
) -> frozenset[str]:
    """Words computed from hazm's files, kept as JSON in the cache folder under a stamp of
    those files (their path, size and time), so that a new hazm computes them again."""
    stamp = hashlib.sha256(
        repr([(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sources]).encode()
    ).hexdigest()[:16]
    path = (cache_dir or default_cache_dir()) / f"{name}-{stamp}.json"
    try:
        return frozenset(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    words = sorted(compute())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
        ) as out:
            json.dump(words, out, ensure_ascii=False)
        os.replace(out.name, path)
    except OSError as error:  # a read-only cache: computed again next time
        log.debug("could not keep %s in %s: %s", name, path, error)
    return frozenset(words)


def normalize_for_matching(text: str) -> str:
    """The canonical matching form: folded, hazm-normalized, ZWNJ-free, lower-case."""
    return _normalize_keeping_zwnj(text).replace(ZWNJ, "")


@lru_cache(maxsize=4096)
def _normalize_keeping_zwnj(text: str) -> str:
    """The matching form with hazm's joins still marked, so a joined word's parts are known."""
    text = fold_characters(text)
    text = _hazm_normalizer().normalize(text)
    text = fold_characters(text)
    text = _DECIMAL_RE.sub(r"\1.\2", text)
    text = _SLASH_NUMBER_RE.sub(r"\1/\2", text)
    text = _MONTH_GLUED_MAH_RE.sub(r"\1 ", text)
    text = _ORDINAL_BEFORE_MONTH_RE.sub(lambda m: f"{_ORDINAL_WORDS[m.group(1)]} ", text)
    return _SPACES_RE.sub(" ", text).strip().lower()


def word_tokens(normalized: str) -> list[str]:
    """Words and numbers of an already normalized text; integers lose leading zeros.

    A regex rather than hazm's WordTokenizer: queries and passages must be cut
    the same way, decimals must stay whole and this runs on every query.
    """
    tokens = _TOKEN_RE.findall(normalized)
    return [t.lstrip("0") or "0" if t.isdigit() else t for t in tokens]


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return frozenset(normalize_for_matching(w) for w in stopwords_list()) | {
        "چه", "چی", "چیست", "کی", "کجا", "چگونه", "چطور", "چرا", "کدام", "چند", "چقدر",
        "ایا", "است", "بود", "شد", "کرد", "را", "به", "در", "از", "که", "و", "با", "این",
        "ان", "برای", "تا", "هم", "نیز", "یا", "بر", "کیست", "کیستند", "چیستند", "کجاست",
        "کدامند", "درباره", "دارد", "دارند", "بوده", "بودند", "هستند", "میشود",
    }  # fmt: skip


# Words that only ask ("چه زمانی", "چه سمتی", "چه کسانی"): dropped from questions, but
# kept in passages, where "زمان" or "سمت" can be what a sentence is about.
QUESTION_WORDS = frozenset(
    "چندمین چندم زمانی زمان هنگامی سمتی سمت کسی کسانی افرادی چیزی موضوعی مطلبی "
    # chat's asking words and its را/در ("رو", "تو"), which only ask or point
    "چطوری چجوری چیکار چکار چکاره چکارهست چیه چین کیه کیا کجان کدوم کدوما کدومش چندتا چقد "
    "چقدره چیا رو تو همدیگه همدیگر".split()
)


_VERB_PREFIXES = ("نمی", "می", "ب", "ن", "")
_VERB_ENDINGS = (
    "هاند",
    "هام",
    "شون",
    "یم",
    "ین",
    "ید",
    "ند",
    "ست",
    "ه",
    "ن",
    "م",
    "ی",
    "د",
    "ش",
    "",
)
_CHAT_VERBS = frozenset("قراره باشه باشن بشه بشن میشه میشن نمیشه داره دارن نداره ندارن".split())


@lru_cache(maxsize=1)
def _verb_stems() -> frozenset[str]:
    """hazm's ~500 verbs' past and present stems (verbs.dat, "دید#بین"), in matching form,
    with chat's خوا for خواه ("میخواد")."""
    default_verbs = Lemmatizer.__init__.__globals__.get("default_verbs")  # as mi_verb_forms
    if not default_verbs or not Path(default_verbs).is_file():
        return frozenset()
    path = Path(default_verbs)
    stems = {"خوا"}
    for line in path.read_text(encoding="utf-8").splitlines():
        stems.update(fold_characters(s).replace("\u200c", "") for s in line.strip().split("#") if s)
    return frozenset(stems)


@lru_cache(maxsize=1)
def lexicon(cache_dir: Path | None = None) -> frozenset[str]:
    """hazm's ~35k words of Persian (words.dat), folded and ZWNJ-free, with their stems.

    Read from the file, not through hazm's `words_list()` (1.7 s of parsing tags and
    counts), once per hazm install (0.48 s measured), then from the cache folder (13 ms),
    and only when a question holds a word that the archive never saw."""
    default_words = Lemmatizer.__init__.__globals__.get("default_words")  # as mi_verb_forms
    if not default_words or not Path(default_words).is_file():
        return frozenset()

    def compute() -> set[str]:
        words = {
            fold_characters(line.split("\t", 1)[0]).replace(ZWNJ, "").strip()
            for line in Path(default_words).read_text(encoding="utf-8").splitlines()
            if line.strip()
        }
        return words | {stem(w) for w in words}

    return _cached_words("hazm-lexicon", [Path(default_words)], compute, cache_dir)


# What hazm parts from a word with a ZWNJ, which the matching form glues back:
# "ارگان‌های", "گرفته‌است", "چرکسی‌ها".
_GLUED_AFFIXES = ("هایی", "های", "ها", "ای", "ی", "اند", "است", "بودند", "بود", "ان", "ات")
_LETTERS = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"


def _one_edit_away(word: str) -> set[str]:
    """Every word one deletion, transposition, replacement or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
        | {a + c + b for a, b in splits for c in _LETTERS}
    )


def is_unknown_name(
    word: str,
    archive_known_of: Callable[[Iterable[str]], frozenset[str]],
    lexicon_words: frozenset[str] | None = None,
) -> bool:
    """A question word (matching form) that is a name the archive has never seen: neither
    the archive nor hazm's lexicon knows it, its stem, or it less a glued affix; it is no
    number, no verb form, no two known words glued ("درابتدای", "ومسیحیان"), and not one
    edit away from a known word (a typo: "ازداج", "تغاریخی"; another spelling: "مکرون"
    for "ماکرون"). `archive_known_of(tokens)`: those of the tokens the archive holds.

    Written by hand because no offline Persian name recognizer exists here; what is left
    are names ("لوکاشنکو", "بولسونارو") and a few words neither source has. The archive
    is asked twice, each time about every spelling at once: the word's pieces, then its
    one-edit spellings (~1,500 for a word of 8 letters). `lexicon_words`: the words known
    besides the archive's, hazm's lexicon by default; empty where the question's own
    wording says the word is a person ("با پوتین دیدار کرد")."""
    words = lexicon() if lexicon_words is None else lexicon_words
    if lexicon_words is None and not words:
        return False
    if any(ch.isdigit() for ch in word):  # numbers are left to dates and counts
        return False
    halves = [w for i in range(1, len(word) - 1) for w in (word[:i], word[i:])]
    pieces = {word, *halves}
    pieces |= {p[: -len(a)] for p in set(pieces) for a in _GLUED_AFFIXES if p.endswith(a)}
    pieces |= {stem(p) for p in pieces}
    archive = archive_known_of(pieces)

    def known(w: str) -> bool:
        return any(v in words or v in archive for v in (w, stem(w)))

    def known_word(w: str) -> bool:
        if known(w) or w in QUESTION_WORDS or is_verb_form(w):
            return True
        return any(
            w.endswith(a) and len(w) - len(a) >= 2 and known(w[: -len(a)]) for a in _GLUED_AFFIXES
        )

    if known_word(word):
        return False
    if any(known_word(word[:i]) and known_word(word[i:]) for i in range(1, len(word) - 1)):
        return False
    bases = [word] + [
        word[: -len(a)] for a in _GLUED_AFFIXES if word.endswith(a) and len(word) - len(a) >= 3
    ]
    spellings = set().union(*(_one_edit_away(base) for base in bases))
    return not (spellings & words or archive_known_of(spellings))


# Chat's endings on a question word (matching form), longest first, each with the fewest
# letters it must leave: pronouns ("اسمش", "هدفشون"), the copula ("مسکوئه" reads
# "مسکویه", after a vowel; "تهرانه"), and the spoken plural ("تحریما", "تحریمای" for
# "تحریم‌ها", "تحریم‌های"), which must leave four letters: "کوبا", "آتنا", "دوما" are names.
# Not "تون"/"مون" ("your", "our"), rare in a question and the end of "کلینتون", "بولتون".
_CHAT_ENDINGS = (("شون", 3), ("شان", 3), ("یه", 3), ("ای", 4), ("ش", 3), ("ه", 3), ("ا", 4))


def chat_readings(word: str) -> list[str]:
    """The written words a chat-typed word may stand for, most likely first: less one
    chat ending, and a spoken verb's vowel written out ("خوند" for "خواند"). Only worth
    asking of a word that the archive never saw: the caller keeps a reading the archive
    holds (bot.answering.Answerer._written_reading)."""
    readings = []
    for ending, least in _CHAT_ENDINGS:
        base = word[: -len(ending)]
        if not word.endswith(ending) or len(base) < least:
            continue
        if ending == "یه" and base[-1] not in "او":  # "مسکو|یه", not "نیجر|یه"
            continue
        readings.append(base)
    if "و" in word[1:]:
        i = word.index("و", 1)
        readings.append(word[: i + 1] + "ا" + word[i + 1 :])
    return list(dict.fromkeys(r for r in readings if r != word))


@lru_cache(maxsize=20_000)
def is_verb_form(word: str) -> bool:
    """The word (matching form) is a form of a verb, written or typed in chat: a stem of
    hazm's verbs with می/نمی/ب/ن before it and a person or chat ending after it
    ("میخواد", "ببینه", "رفته", "میکنن")."""
    if word in _CHAT_VERBS:
        return True
    stems = _verb_stems()
    for prefix in _VERB_PREFIXES:
        if not word.startswith(prefix):
            continue
        rest = word[len(prefix) :]
        for ending in _VERB_ENDINGS:
            if rest.endswith(ending) and rest[: len(rest) - len(ending)] in stems:
                return True
    return False


def is_stopword(token: str, question: bool = False) -> bool:
    return token in _stopwords() or (question and token in QUESTION_WORDS)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer:
    return Stemmer()


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """hazm's suffix stemmer, cached: the same words recur across a corpus."""
    if token.isdigit() or len(token) <= 3:
        return token
    stemmed = _stemmer().stem(token)
    return stemmed if len(stemmed) >= 3 else token


def _words(text: str) -> list[str]:
    """Normalized words, with month names in one spelling ("March" → "مارس")."""
    return [MONTH_VARIANTS.get(w, w) for w in word_tokens(normalize_for_matching(text))]


# A unit of time after "چه" or "کدام" asks, like "چه زمانی": "چه ساعتی رسید؟", "در کدام
# سال". As a content word, on a small archive that never says "ساعت", it weighed like a
# name the archive lacks and declined the question.
_ASKING_BEFORE_UNIT = frozenset("چه کدام کدوم".split())
_ASKED_UNITS = frozenset(
    f"{unit}{ending}" for unit in "ساعت روز شب هفته ماه سال تاریخ قرن دهه".split()
    for ending in ("", "ی", "ای")
)  # fmt: skip


def content_words(text: str) -> list[str]:
    """A question's words without stopwords and asking words: what it is about."""
    return [w for w in _words(text) if not is_stopword(w, question=True)]


def subject_words(text: str) -> list[str]:
    """The content words less a unit of time that asks (the answer's words weigh these).

    Retrieval (index.rerank, whose fusion learned on `content_stems`) and the follow-up
    test of bot.conversation keep the plain content words."""
    words = _words(text)
    return [
        w for i, w in enumerate(words)
        if not is_stopword(w, question=True)
        and not (w in _ASKED_UNITS and i and words[i - 1] in _ASKING_BEFORE_UNIT)
    ]  # fmt: skip


# Function words that never form a compound with their neighbour.
_NEVER_GLUED = frozenset(
    "را به در از که و با چه کی این ان تا یا بر برای اما نیز هم یک دو سه او وی ما".split()
)


def content_stems(text: str) -> list[str]:
    """Stems of a question's content words: what coverage of a question is measured on."""
    return [stem(w) for w in content_words(text)]


# Affixes hazm joins with a ZWNJ; as parts of a word they carry no meaning of their own.
_AFFIX_PARTS = frozenset("ها های هایی ای ی می نمی تر ترین ام ات اش مان تان شان".split())


def matching_tokens(text: str, question: bool = False) -> list[str]:
    """Lexical-index tokens: stems of content words, parts of joined words, joined bigrams.

    A joined bigram ("بین"+"المللی" → "بینالمللی") lets a spaced compound meet
    the glued spelling of the same word in the other text, whichever side has it;
    the parts of a word hazm joined ("افزایش‌یافته") let it meet either part alone.
    """
    marked = _normalize_keeping_zwnj(text)
    words = [MONTH_VARIANTS.get(w, w) for w in word_tokens(marked.replace(ZWNJ, ""))]
    tokens = [stem(w) for w in words if not is_stopword(w, question)]
    for joined in re.findall(r"\w+(?:\u200c\w+)+", marked):
        tokens.extend(
            stem(part)
            for part in joined.split(ZWNJ)
            if part not in _AFFIX_PARTS and len(part) > 1 and not is_stopword(part)
        )
    tokens.extend(
        stem(a + b)
        for a, b in itertools.pairwise(words)
        if not (a[0].isdigit() or b[0].isdigit() or a in _NEVER_GLUED or b in _NEVER_GLUED)
    )
    return tokens


def glued_after_also(text: str) -> frozenset[str]:
    """The words hazm joined to a "هم" before them (matching form, without it): "صحبت" in
    "اوکراین هم صحبت شد؟", read as the compound "هم‌صحبت". A word typed whole ("همدان",
    "همایش") is not among them."""
    marked = _normalize_keeping_zwnj(text)
    return frozenset(m.group(1) for m in re.finditer(rf"(?<!\w)هم{ZWNJ}(\w+)", marked))


def squash(text: str) -> str:
    """The eval gold-matching form: folded, with punctuation and all whitespace removed."""
    text = fold_characters(text).replace(ZWNJ, "")
    return "".join(ch for ch in text if ch.isalnum())


def gold_in_text(alternatives: list[list[str]], text: str) -> bool:
    """True when every string of one alternative is inside the text (both squashed)."""
    haystack = squash(text)
    return any(all(squash(s) in haystack for s in alt) for alt in alternatives)


@lru_cache(maxsize=1)
def _sentence_tokenizer() -> SentenceTokenizer:
    return SentenceTokenizer()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of the original text (lines first, then hazm)."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        cursor = line.start()
        for sentence in _sentence_tokenizer().tokenize(line.group()):
            sentence = sentence.strip()
            if not sentence:
                continue
            start = text.find(sentence, cursor, line.end())
            if start < 0:  # the tokenizer changed the text; fall back to the cursor
                start = cursor
            end = min(start + len(sentence), line.end())
            spans.extend(_split_glued_sentences(text, start, end))
            cursor = end
    return spans


_GLUED_SENTENCE_RE = re.compile(r"[.!?؟](?=[^\W\d_])")
# "ان.بی.ای", "ه.ش", "ق.م", "U.S.A": letters of one or two, joined by dots, abbreviate;
# their dots end no sentence ("شد.وزیر", a short verb then a word, still splits).
_ABBREVIATION_RE = re.compile(r"(?<![^\W\d_])[^\W\d_]{1,2}(?:\.[^\W\d_]{1,2})+(?![^\W\d_])")


def _split_glued_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split "...کردند.وزیر ..." where a sentence end has no space after it (as in the seeds)."""
    inside = [m.span() for m in _ABBREVIATION_RE.finditer(text, start, end)]
    spans = []
    for m in _GLUED_SENTENCE_RE.finditer(text, start, end):
        if any(a < m.start() < b for a, b in inside):
            continue
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]
