"""Persian matching rules: what users type meets what the seeds print."""

import json
from pathlib import Path

import pytest

from index.hazm_parts import Normalizer
from index.persian import (
    _hazm_normalizer,
    chat_readings,
    content_stems,
    encoder_spelling,
    fold_characters,
    glued_after_also,
    gold_in_text,
    is_unknown_name,
    is_verb_form,
    matching_tokens,
    mi_verb_forms,
    normalize_for_matching,
    question_encoder_spelling,
    sentence_spans,
    squash,
    subject_words,
)

# (as typed by a user, as printed in a seed) pairs that must normalize alike.
SAME_WORD = [
    ("می‌کنند", "میکنند"),
    ("می کنند", "میکنند"),
    ("سه شنبه", "سهشنبه"),
    ("سه‌شنبه", "سهشنبه"),
    ("همکاری‌های", "همکاریهای"),
    ("همکاری های", "همکاریهای"),
    ("گفت‌وگو", "گفتوگو"),
    ("گفت وگو", "گفتوگو"),
    ("مي‌كنند", "میکنند"),
    ("هیات", "هیأت"),
    ("رؤسای", "روسای"),
    ("۳.۵", "3.5"),
    ("٣٫٥", "3.5"),
    ("۲۴ اسفند", "24 اسفند"),
    ("هشتم فروردین", "8 فروردین"),
    ("بیست و چهارم اسفند", "۲۴ اسفند"),
    ("اسفند ماه", "اسفندماه"),
    ("مُحَمَّد", "محمد"),
    ("ســلام", "سلام"),
]

# Hamza and yeh spellings of one word, as agencies and users write them.
HAMZA_YEH_SPELLINGS = [
    ("هیأت", "هیئت", "هيئت", "هیات"),
    ("هیأتی", "هیئتی"),
    ("مسئول", "مسؤول", "مسوول"),
    ("مسئولان", "مسؤولان"),
    ("رئیس", "رییس", "رييس", "رئيس"),
    ("رئیس‌جمهور", "رییس‌جمهور", "رئيس‌جمهور"),
    ("سؤال", "سئوال", "سوال"),
    ("ارائه", "ارایه"),
    ("تأثیر", "تاثیر"),
    ("پائیز", "پاییز"),
    ("جزئی", "جزیی"),
    ("رؤسای", "روسای"),
    ("رأی", "رای"),
    ("رؤیای", "رویای"),
    ("برانائو", "برانایو"),
]
# Words that must stay apart after folding.
STILL_DIFFERENT = [
    ("آیین", "این"),
    ("رئیس", "ریس‌ها"),
    ("هیأت", "حیات"),
    ("رأی", "ری"),  # the alef is the hamza's seat, not a letter to drop
    ("جایی", "جای"),  # a doubled ی is a suffix, not a spelling of one ی
    ("پایین", "پاین"),
]


@pytest.mark.parametrize("spellings", HAMZA_YEH_SPELLINGS)
def test_hamza_and_yeh_spellings_meet(spellings):
    forms = {normalize_for_matching(s) for s in spellings}
    assert len(forms) == 1, forms
    assert len({frozenset(matching_tokens(s)) for s in spellings}) == 1


@pytest.mark.parametrize(("a", "b"), STILL_DIFFERENT)
def test_folding_keeps_other_words_apart(a, b):
    assert normalize_for_matching(a) != normalize_for_matching(b)


def test_hamza_folding_matches_a_question_to_the_printed_text():
    passage = "هیأتی از وزارت خارجه به ریاست رئیس دفتر وزیر وارد مسکو شد."
    question = "هیئت همراه رییس دفتر کی به مسکو رسید؟"
    assert {"هیات", "رییس"} <= set(matching_tokens(question)) & set(matching_tokens(passage))
    assert gold_in_text([["هیئتی"]], passage)


@pytest.mark.parametrize(("typed", "printed"), SAME_WORD)
def test_spellings_meet(typed, printed):
    assert normalize_for_matching(typed) == normalize_for_matching(printed)


# Compounds hazm does not join: the joined bigram token makes them meet.
GLUED_COMPOUNDS = [
    ("بین المللی", "بینالمللی"),
    ("سازمان های بین المللی", "سازمانهای بینالمللی"),
    ("راه حل", "راهحل"),
]


@pytest.mark.parametrize(("spaced", "glued"), GLUED_COMPOUNDS)
def test_spaced_compound_meets_glued(spaced, glued):
    assert set(matching_tokens(glued)) & set(matching_tokens(spaced))


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("كيك", "کیک"),
        ("ي", "ی"),
        ("ى", "ی"),
        ("ة", "ه"),
        ("أ إ آ", "ا ا ا"),
        ("ؤ", "و"),
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
        ("کتـــاب", "کتاب"),
        ("کِتاب", "کتاب"),
    ],
)
def test_fold_characters(text, folded):
    assert fold_characters(text) == folded


def test_mi_prefix_is_not_the_month_may():
    # "می" is also the Persian spelling of May; "سوم می‌شود" is not "3 May".
    assert normalize_for_matching("این رقم سوم می‌شود") == "این رقم سوم میشود"


def test_question_words_are_dropped_from_questions_only():
    assert "سمت" not in matching_tokens("چه سمتی دارد؟", question=True)
    assert "زمان" in matching_tokens("زمان دیدار تغییر کرد")


def test_decimal_survives_hazm():
    # hazm's Normalizer alone turns "۳.۵" into "۳ ٫ ۵".
    assert "3.5" in normalize_for_matching("حجم تبادل به بیش از ۳.۵ برابر افزایش پیدا کرده است")
    assert "3.5" in matching_tokens("۳.۵ برابر")
    assert "3.5" in matching_tokens("3.5 برابر")


def test_question_words_are_not_content():
    assert content_stems("علیرضا حقیقیان چه سمتی دارد؟")[:2] == ["علیرضا", "حقیق"]
    assert "چه" not in content_stems("چه کسی؟")


@pytest.mark.parametrize(
    ("gold", "text", "hit"),
    [
        ([["بامداد سه شنبه"]], "… کشورمان بامداد سهشنبه در راس", True),
        ([["مهدی صفری", "معاون"]], "مهدی صفری، معاون دیپلماسی", True),
        ([["مهدی صفری", "کنعانی"]], "مهدی صفری، معاون دیپلماسی", False),
        ([["۳.۵ برابر"]], "به بیش از 3.5 برابر", True),
        ([["x"], ["سوري‌ها"]], "حق مشروع سوری ها", True),
    ],
)
def test_gold_matching(gold, text, hit):
    assert gold_in_text(gold, text) is hit


def test_squash_removes_everything_but_letters_and_digits():
    assert squash("گفت‌وگو، «۳.۵» !") == "گفتوگو35"


def test_sentence_spans_point_into_the_original_text():
    text = "اولین جمله است. دومین جمله!\nسومین جمله کردند.وزیر چهارم گفت."
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "اولین جمله است.",
        "دومین جمله!",
        "سومین جمله کردند.",
        "وزیر چهارم گفت.",
    ]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "از بازیکنان این پست در ان.بی.ای می‌توان به دوین وید اشاره کرد. او بازیکن است.",
            ["از بازیکنان این پست در ان.بی.ای می‌توان به دوین وید اشاره کرد.", "او بازیکن است."],
        ),
        ("در ۵۰۰ ق.م ساخته شد.وزیر گفت.", ["در ۵۰۰ ق.م ساخته شد.", "وزیر گفت."]),
        ("سفیر ایالات متحده (U.S.A) گفت.", ["سفیر ایالات متحده (U.S.A) گفت."]),
        ("دو کشور همکاری کردند.وزیر خارجه گفت.", ["دو کشور همکاری کردند.", "وزیر خارجه گفت."]),
    ],
)
def test_abbreviations_end_no_sentence(text, sentences):
    assert [text[a:b] for a, b in sentence_spans(text)] == sentences


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("نمیدانم چه میگفت", "نمی\u200cدانم چه می\u200cگفت"),  # verbs get their ZWNJ
        ("میز و میدان", "میز و میدان"),  # words that only start like a verb do not
        ("وزیر خارجه میرود", "وزیر خارجه می\u200cرود"),
    ],
)
def test_normalizer_separates_mi_of_verbs_only(text, normalized):
    assert _hazm_normalizer().normalize(text) == normalized


def test_normalizer_matches_stock_hazm_on_seeds_and_questions(tmp_path):
    """The normalizer built from cached verb forms gives hazm's own output, cache or not."""
    stock = Normalizer(persian_numbers=False)
    fresh = Normalizer(persian_numbers=False, seperate_mi=False)
    fresh.verbs, fresh._seperate_mi = mi_verb_forms(tmp_path), True  # computed, then cached
    cached = Normalizer(persian_numbers=False, seperate_mi=False)
    cached.verbs, cached._seperate_mi = mi_verb_forms(tmp_path), True
    assert cached.verbs == fresh.verbs and list(tmp_path.iterdir())
    root = Path(__file__).resolve().parents[2]
    texts = [p.read_text(encoding="utf-8") for p in sorted((root / "seeds").glob("*.txt"))]
    for data in sorted((root / "tests" / "data").glob("*.jsonl")):
        texts += [json.loads(line)["question"] for line in data.read_text().splitlines() if line]
    lines = [fold_characters(line) for text in texts for line in text.splitlines() if line]
    assert len(lines) > 50
    for line in lines:
        assert _hazm_normalizer().normalize(line) == stock.normalize(line) == cached.normalize(line)


@pytest.mark.parametrize(
    ("question", "content"),
    [
        ("روسای جمهور چطوری با هم در ارتباطن؟", ["روسا", "جمهور", "ارتباطن"]),
        ("حقیقیان چکاره‌ست؟", ["حقیق"]),
        ("وزیرا کجا همدیگه رو دیدن؟", ["وزیرا", "دیدن"]),
        ("تو سفر اسفند کدوم وزیر همراهش بود؟", ["سفر", "اسفند", "وزیر", "همراه"]),
    ],
)
def test_chat_asking_words_are_not_content(question, content):
    assert content_stems(question) == content


# (question, its content words): a unit of time after چه / کدام asks; elsewhere it is content
ASKED_UNITS = [
    ("وزیر صنعت چه ساعتی به استانبول رسید؟", ["وزیر", "صنعت", "استانبول"]),
    ("قرارداد در چه سالی امضا شد؟", ["قرارداد", "امضا"]),
    ("قرارداد تو کدوم ماه امضا شد؟", ["قرارداد", "امضا"]),  # chat's کدوم
    ("جلسه در کدام روز برگزار شد؟", ["جلسه", "برگزار"]),
    ("سفر چند روز طول کشید؟", ["سفر", "روز", "کشید"]),  # the counted unit stays
    ("بناهای تاریخی شیراز کدامند؟", ["بناهای", "تاریخی", "شیراز"]),
]


@pytest.mark.parametrize(("question", "content"), ASKED_UNITS)
def test_a_unit_of_time_after_an_asking_word_is_no_subject(question, content):
    assert subject_words(question) == content


# (word in matching form, is it a verb form?): chat's and the written forms of hazm's verbs
VERB_FORMS = [
    ("میخواد", True),
    ("ببینه", True),
    ("میکنن", True),
    ("قراره", True),
    ("رفته", True),
    ("دیدن", True),
    ("میپذیره", True),
    ("بولسونارو", False),
    ("استوارنامه", False),
    ("دیدار", False),
    ("مسکو", False),
    ("نفت", False),
]


@pytest.mark.parametrize(("word", "verb"), VERB_FORMS)
def test_is_verb_form(word, verb):
    assert is_verb_form(word) is verb


# (question word in matching form, is it a name that an archive of these words lacks?)
ARCHIVE = frozenset({"ماکرون", "مسکو", "لاوروف"})
UNKNOWN_NAMES = [
    ("لوکاشنکو", True),
    ("بولسونارو", True),
    ("مکرون", False),  # the archive's ماکرون, spelled otherwise
    ("لاوروو", False),  # a typo of the archive's لاوروف
    ("ازدواج", False),  # a word of the language
    ("ازداج", False),  # a typo of one
    ("ارگانهای", False),  # ارگان‌های, its ZWNJ gone
    ("نگرفتهاست", False),
    ("درابتدای", False),  # در ابتدای, glued
    ("ومسیحیان", False),
    ("مستقرکردند", False),  # a noun and its verb, glued
    ("میتونن", False),  # chat's verb
    ("حرفا", False),  # chat's plural
    ("1375", False),  # a number: a year is the dates' business
    ("covid19", False),
]


@pytest.mark.parametrize(("word", "name"), UNKNOWN_NAMES)
def test_is_unknown_name(word, name):
    assert is_unknown_name(word, ARCHIVE.intersection) is name


@pytest.mark.parametrize(
    ("question", "glued"),
    [
        ("تو سفر مسکو درباره اوکراین هم صحبت شد؟", {"صحبت"}),
        ("سفر وزیر به همدان کی بود؟", set()),  # typed whole: no "also"
        ("همایش کی برگزار شد؟", set()),
    ],
)
def test_glued_after_also(question, glued):
    assert glued_after_also(question) == glued


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("وزير خارجه به مسكو رفت", "وزیر خارجه به مسکو رفت"),  # Arabic yeh and kaf
        ("8 فروردین 1402 و ٣ مارس", "۸ فروردین ۱۴۰۲ و ۳ مارس"),  # Latin and Arabic digits
        ("همکاری‌های آسیایی", "همکاری‌های آسیایی"),  # ZWNJ and alef madda stay
        ("جمهورئ اسلامي", "جمهوریٔ اسلامی"),  # a hamza above stays: one character each
    ],
)
def test_encoder_spelling(text, spelled):
    assert encoder_spelling(text) == spelled
    assert len(encoder_spelling(text)) == len(text)  # sentence offsets hold


@pytest.mark.parametrize(
    "question",
    [
        "وزیر خارجه کی به مسکو رفت؟",
        "وزير خارجه كي به مسكو رفت؟",
        "وزیر خارجه کی به مسکو رفت",
        "وزیر خارجه کی به مسکو رفت?",
        "وزیر خارجه کی به مسکو رفت؟؟ ",
    ],
)
def test_question_encoder_spelling_is_one_for_every_typing(question):
    assert question_encoder_spelling(question) == "وزیر خارجه کی به مسکو رفت؟"


# (a word typed in chat, in the matching form; a written word among its readings)
CHAT_READINGS = [
    ("مسکویه", "مسکو"),  # "مسکوئه": Moscow, and the copula
    ("تهرانه", "تهران"),
    ("اسمش", "اسم"),
    ("هدفشون", "هدف"),
    ("تحریما", "تحریم"),  # the spoken plural
    ("مذاکراتشون", "مذاکرات"),
    ("خوند", "خواند"),  # a spoken verb's vowel
]


@pytest.mark.parametrize(("typed", "written"), CHAT_READINGS)
def test_chat_readings(typed, written):
    assert written in chat_readings(typed)


def test_chat_readings_leave_short_words_whole():
    assert chat_readings("اش") == []
    assert "تو" not in chat_readings("توش")  # fewer than three letters left


@pytest.mark.parametrize(
    ("name", "not_a_reading"),
    [("کوبا", "کوب"), ("اتنا", "اتن"), ("کلینتون", "کلین"), ("بولتون", "بول"), ("نیجریه", "نیجر")],
)
def test_chat_readings_leave_names_whole(name, not_a_reading):
    # a spoken plural leaves four letters, "تون" is no ending read, "یه" follows a vowel
    assert not_a_reading not in chat_readings(name)
