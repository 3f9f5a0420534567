"""Answers on short articles written for these tests (not the seeds): the sentence that
holds the asked-for fact wins over the one that restates the question, and questions
about a person or place that no article names are declined."""

import json

import pytest

from bot.answering import Answerer
from index.persian import gold_in_text, stem

ARTICLES = [
    {
        "id": "oman-port",
        "title": "امضای توافقنامه همکاری بندری ایران و عمان",
        "source": "خبرگزاری نمونه",
        "published": "2022-05-23",
        "text": (
            "ایران و عمان توافقنامه همکاری بندری و کشتیرانی را امضا کردند. "
            "این سند روز دوشنبه در مسقط و در حضور وزیران راه دو کشور به امضا رسید. "
            "بر پایه این توافقنامه خط کشتیرانی مستقیم میان بندرعباس و صحار راه‌اندازی می‌شود. "
            "حجم مبادلات دو کشور در سال گذشته به یک میلیارد و سیصد میلیون دلار رسید."
        ),
    },
    {
        "id": "baku-talks",
        "title": "گفت‌وگوی وزیران نفت ایران و آذربایجان در باکو",
        "source": "روزنامه نمونه",
        "published": "2022-06-02",
        "text": (
            "وزیر نفت ایران صبح پنجشنبه با همتای آذربایجانی خود در باکو دیدار کرد. "
            "این دیدار چهار ساعت به طول انجامید. "
            "پایان این گفت‌وگوها را سخنگوی وزارت نفت در یک نشست خبری اعلام کرد. "
            "مدیرعامل شرکت ملی گاز و معاون امور بین‌الملل وزارت نفت وزیر را در این سفر همراهی می‌کردند."
        ),
    },
    {
        "id": "ankara-trade",
        "title": "سفر وزیر بازرگانی به آنکارا",
        "source": "خبرگزاری نمونه",
        "published": "2022-07-11",
        "text": (
            "سخنگوی وزارت بازرگانی روز شنبه در نشست خبری هفتگی از سفر وزیر به آنکارا خبر داده بود. "
            "وزیر بازرگانی عصر دوشنبه وارد آنکارا شد و مورد استقبال همتای ترک خود قرار گرفت. "
            "دو طرف در این سفر درباره گسترش تجارت مرزی و راه‌اندازی بازارچه‌های مشترک گفت‌وگو کردند."
        ),
    },
    {
        "id": "harvest",
        "title": "آغاز برداشت گندم در خوزستان",
        "source": "خبرگزاری کشاورزی",
        "published": "2022-04-10",
        "text": (
            "برداشت گندم در استان خوزستان از هفته گذشته آغاز شده است. "
            "پیش‌بینی می‌شود امسال یک میلیون تن گندم از کشاورزان این استان خریداری شود. "
            "بارش‌های مناسب زمستان عملکرد مزارع را افزایش داده است."
        ),
    },
]


def answerer_over(folder, embedder, articles: list[dict]) -> Answerer:
    """An answerer over a fresh index of the articles, written to the folder."""
    from index.readers import read_paths
    from index.search import KnowledgeBase
    from index.store import update_index

    path = folder / "articles.jsonl"
    path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles), "utf-8")
    update_index(folder / "index", embedder, read_paths([path]).articles, fresh=True)
    return Answerer(KnowledgeBase(folder / "index", embedder))


@pytest.fixture(scope="module")
def answerer(tmp_path_factory, embedder):
    return answerer_over(tmp_path_factory.mktemp("written"), embedder, ARTICLES)


# (question, a string the answer must hold): the fact sits beside the sentence that
# restates the question, and the answer must carry it
NEIGHBOUR_FACTS = [
    ("ایران و عمان توافقنامه همکاری بندری را در کدام شهر امضا کردند؟", "مسقط"),
    ("توافقنامه بندری ایران و عمان کجا امضا شد؟", "مسقط"),
    ("دیدار وزیر نفت با همتای آذربایجانی چقدر طول کشید؟", "چهار ساعت"),
    ("چه کسی پایان گفت‌وگوهای وزیران نفت را اعلام کرد؟", "سخنگوی وزارت نفت"),
    ("کی پایان گفتگوهای نفتی باکو رو اعلام کرد؟", "سخنگوی وزارت نفت"),  # colloquial کی: who
    ("وزیر نفت کی با همتای آذربایجانیش دیدار کرد؟", "پنجشنبه"),  # colloquial کی: when
    ("حجم مبادلات ایران و عمان چقدره؟", "یک میلیارد و سیصد میلیون دلار"),
    # chat words that no article uses ("همدیگه", "دیدن") weigh like any word of
    # a real archive, not as names the archive lacks: a small archive still answers
    ("وزیرای نفت ایران و آذربایجان کجا همدیگه رو دیدن؟", "باکو"),
    # whom he travelled with is told by who accompanied him, not by the arrival
    ("وزیر نفت با کیا رفته بود باکو؟", "مدیرعامل شرکت ملی گاز"),
    ("وزیر نفت با چه کسانی به باکو سفر کرد؟", "معاون امور بین‌الملل"),
    # chat endings on words the articles write plainly ("مبادلاتشون", "باکوئه")
    ("حجم مبادلاتشون چقدره؟", "یک میلیارد و سیصد میلیون دلار"),
]


@pytest.mark.parametrize(
    ("question", "chosen"),
    [
        # the announcement holds a day too (شنبه), but it cannot say when he arrived
        ("وزیر بازرگانی کی وارد آنکارا شد؟", "عصر دوشنبه"),
        ("وزیر بازرگانی چه روزی به آنکارا رسید؟", "عصر دوشنبه"),
    ],
)
def test_a_done_event_is_not_answered_by_its_announcement(answerer, question, chosen):
    passages = answerer.kb.search(question, top_k=8)
    ranked = answerer.rank(question, passages)
    assert chosen in ranked.candidates[ranked.best].text


@pytest.mark.parametrize(("question", "holds"), NEIGHBOUR_FACTS)
def test_the_answer_holds_the_asked_fact(answerer, question, holds):
    answer = answerer.answer(question)
    assert not answer.abstained, answer.text
    assert gold_in_text([[holds]], answer.text), answer.text
    assert len(answer.parts) == 1  # one article answers: one report


@pytest.mark.parametrize(
    "question",
    [
        "وزیر نفت تو سفر به پکن با کی دیدار کرد؟",  # a city that no article names
        "ایران و ژاپن توافقنامه همکاری بندری را کجا امضا کردند؟",  # a country no article names
        "پوتین تو سفر به تهران چه قراردادهایی امضا کرد؟",  # a person and a trip not held
    ],
)
def test_a_question_about_what_no_article_names_is_declined(answerer, question):
    answer = answerer.answer(question)
    assert answer.abstained, answer.text
    assert "پاسخ این پرسش" in answer.text


TWO_LEGS = [
    {
        "id": "leave-tehran",
        "title": "سفر وزیر صنعت به استانبول",
        "source": "خبرگزاری نمونه",
        "published": "2022-09-04",
        "text": (
            "وزیر صنعت بامداد یکشنبه تهران را به مقصد استانبول ترک کرد. "
            "او در این سفر با وزیر تجارت ترکیه درباره صادرات فولاد گفت‌وگو خواهد کرد."
        ),
    },
    {
        "id": "reach-istanbul",
        "title": "ورود وزیر صنعت به استانبول",
        "source": "روزنامه نمونه",
        "published": "2022-09-04",
        "text": (
            "وزیر صنعت عصر یکشنبه وارد استانبول شد و مورد استقبال سفیر ایران قرار گرفت. "
            "صادرات فولاد و گشایش بازارچه‌های مرزی محور گفت‌وگوهای او در ترکیه است."
        ),
    },
]


@pytest.fixture(scope="module")
def two_legs(tmp_path_factory, embedder):
    return answerer_over(tmp_path_factory.mktemp("two-legs"), embedder, TWO_LEGS)


@pytest.mark.parametrize(
    "question", ["وزیر صنعت کی وارد استانبول شد؟", "وزیر صنعت چه ساعتی به استانبول رسید؟"]
)
def test_a_sentence_about_another_event_is_no_second_report(two_legs, question):
    # both articles hold a day (یکشنبه), but leaving Tehran does not tell when he arrived
    answer = two_legs.answer(question)
    assert not answer.abstained, answer.text
    assert len(answer.parts) == 1, answer.text
    assert "عصر یکشنبه" in answer.text


@pytest.mark.parametrize(
    "question", ["هدف سفر وزیر صنعت به استانبول چی بود؟", "علت سفر وزیر صنعت به استانبول چه بود؟"]
)
def test_a_word_that_frames_the_question_is_not_its_subject(two_legs, question):
    # neither article says هدف or علت: on an archive this small, an unknown word would
    # hold most of the question's weight and decline it as being about something else
    answer = two_legs.answer(question)
    assert not answer.abstained, answer.text
    assert "صادرات فولاد" in answer.text


def test_a_trip_that_the_articles_tell_the_other_way_is_declined(two_legs):
    # Tehran is only where the minister left from: no one is said to come to it
    answer = two_legs.answer("وزیر تجارت ترکیه کی میاد تهران؟")
    assert answer.abstained, answer.text
    assert not two_legs.answer("وزیر صنعت کی رفت استانبول؟").abstained


def test_a_chat_ending_is_read_as_written(two_legs):
    # "فولادشون" is a word no article holds: unread, it would weigh most of the question
    q = "صادرات فولادشون به ترکیه چطوره؟"
    assert two_legs._written_reading("فولادشون") == "فولاد"
    weights = two_legs.read_question(q, two_legs.kb.search(q, top_k=8)).weights
    assert stem("فولاد") in weights and "فولادشون" not in weights
    assert two_legs.unknown_names(q) == []
    assert two_legs._written_reading("کلینتون") is None  # hazm knows the word as it is
    answer = two_legs.answer("هدفشون از سفر به استانبول چی بود؟")  # "هدف", a frame word
    assert not answer.abstained, answer.text


@pytest.mark.parametrize(
    "question", ["وزیر صنعت با اردوغان هم دیدار کرد؟", "وزیر صنعت تو استانبول با مدودف دیدار کرد؟"]
)
def test_a_person_that_no_article_names_is_declined(two_legs, question):
    answer = two_legs.answer(question)
    assert answer.abstained, answer.text


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("وزیر نفت تو باکو با لوکاشنکو هم دیدار کرد؟", ["لوکاشنکو"]),  # no article names him
        ("وزیر نفط کی با همتای آذربایجانیش دیدار کرد؟", []),  # a typo of the archive's نفت
        ("وزیر نفت کی با همتای آذربایجانیش دیدار کرد؟", []),
        # hazm knows "پوتین" as a word (boots); whom he met is a person all the same
        ("وزیر نفت تو باکو با پوتین دیدار کرد؟", ["پوتین"]),
        # a question that asks whom has no name in that place
        ("وزیر نفت تو باکو با چه کسایی دیدار کرد؟", []),
        ("وزیر نفت تو باکو با کدوم مقام دیدار کرد؟", []),
        # a glued affix, a typo, a word the lexicon knows, a post: no names (a review
        # found each read as one by a first version of the rule)
        ("وزیر نفت کی با همتای آذربایجانی‌اش دیدار کرد؟", []),
        ("وزیر نفت کی با همتای آزربایجانی دیدار کرد؟", []),
        ("وزیر نفت کی با همتای اذری خود دیدار کرد؟", []),
        ("وزیر نفت در باکو با وزیر خارجه آذربایجان دیدار کرد؟", []),
        ("وزیر نفت در باکو با مقامات دیدار کرد؟", []),
    ],
)
def test_a_name_the_archive_never_saw(answerer, question, names):
    assert answerer.unknown_names(question) == names
    if names:
        assert answerer.answer(question).abstained


# -- a sentence that goes on with the best one ------------------------------------------
PHONE_CALL = {
    "id": "iraq-call",
    "title": "سفر وزیر خارجه عراق به تهران",
    "source": "خبرگزاری نمونه",
    "published": "2022-10-05",
    "text": (
        "وزیر امور خارجه عراق سه‌شنبه برای دومین بار در سال جاری به تهران سفر کرد. "
        "وزیران خارجه ایران و عراق روز ۱۲ مهر نیز تلفنی با یکدیگر گفت‌وگو کردند. "
        "دو وزیر در این گفت‌وگو از توافق بازگشایی گذرگاه مرزی مهران استقبال کردند. "
        "کمیسیون مشترک اقتصادی دو کشور ماه آینده در بغداد تشکیل می‌شود."
    ),
}


@pytest.fixture(scope="module")
def call_answerer(tmp_path_factory, embedder):
    return answerer_over(tmp_path_factory.mktemp("call"), embedder, [PHONE_CALL, ARTICLES[-1]])


def test_the_sentence_that_goes_on_with_the_best_one_is_joined_to_it(call_answerer):
    """ "… تلفنی گفت‌وگو کردند." restates the question; "… در این گفت‌وگو …" after it says
    what was said, and is joined before the sentence ahead of it."""
    answer = call_answerer.answer("وزیرای خارجه ایران و عراق ۱۲ مهر درباره چی تلفنی حرف زدن؟")
    assert not answer.abstained, answer.text
    assert "گذرگاه مرزی مهران" in answer.text, answer.text
