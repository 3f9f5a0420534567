"""Answers on the seeds with the real model: verbatim, short, declined when not covered."""

import pytest

from bot.answering import ANSWER_MAX_CHARS, Answerer
from bot.conversation import Conversation
from index.persian import gold_in_text, squash

ESFAND = "000_42826dca8da319ad"
FARVARDIN = "004_87a0e038c51b7fc2"
OUT_OF_CORPUS = [
    "قیمت دلار امروز چقدر است؟",
    "پوتین در سفر به تهران چه قراردادهایی امضا کرد؟",
    # the trips name Russia's foreign minister only (declined since missing_ministries)
    "وزیر خارجه ایران تو مسکو با وزیر دفاع روسیه دیدار کرد؟",
    # money asked, and no article gives a sum of money (answered with "۳.۵ برابر" before)
    "هزینه سفر هیئت ایرانی به مسکو چقدر بود؟",
]


@pytest.fixture(scope="module")
def answerer(seed_kb):
    return Answerer(seed_kb)


def test_every_answerable_dev_question_has_its_gold_in_the_short_answer(answerer, dev_questions):
    for q in (q for q in dev_questions if q["answerable"]):
        answer = answerer.answer(q["question"])
        assert not answer.abstained, f"{q['id']} declined"
        assert gold_in_text(q["gold_any"], answer.text), f"{q['id']}: {answer.text}"


@pytest.mark.parametrize("question", OUT_OF_CORPUS)
def test_out_of_corpus_issue_examples_declined(answerer, question):
    answer = answerer.answer(question)
    assert answer.abstained and not answer.parts
    assert "نیامده" in answer.text  # says the articles do not cover it …
    assert "امیرعبداللهیان" in answer.text  # … and what they do cover


def test_dev_out_of_corpus_declined(answerer, dev_questions):
    for q in (q for q in dev_questions if not q["answerable"]):
        assert answerer.answer(q["question"]).abstained, q["id"]


def test_answer_is_verbatim_and_sourced(answerer, seed_kb):
    answer = answerer.answer("حق مشروع سوری‌ها چیست؟")
    (part,) = answer.parts
    article = seed_kb.article(part.article_id)
    assert part.text.strip(" …") in article.text  # copied, never invented
    assert len(answer.text) <= ANSWER_MAX_CHARS
    assert part.source == "خبرمهم، ایرنا، عصرایران" and part.date
    assert part.title == article.title
    assert part.passage.text in article.text


def test_json_fields(answerer):
    data = answerer.answer("علیرضا حقیقیان چه سمتی دارد؟").as_dict()
    assert {"question", "answer", "abstained", "passages", "timings_ms", "sources"} <= set(data)
    assert data["abstained"] is False
    assert {"text", "article_id", "title", "source", "score"} <= set(data["passages"][0])
    assert data["sources"][0]["supporting_passage"]


def test_two_trips_shown_apart_with_dates_and_sources(answerer):
    answer = answerer.answer("چه کسانی امیرعبداللهیان را در سفر به مسکو همراهی کردند؟")
    assert {p.article_id for p in answer.parts} == {ESFAND, FARVARDIN}
    text = squash(answer.text)
    for name in ("سعید خطیب زاده", "ناصر کنعانی", "حسن کاظمی قمی"):
        assert squash(name) in text
    assert all(p.date and p.source for p in answer.parts)
    assert "دو گزارش" in answer.text


@pytest.mark.parametrize(
    ("first", "trip", "delegate"),
    [
        ("امیرعبداللهیان در سفر فروردین به مسکو چه گفت؟", FARVARDIN, "ناصر کنعانی"),
        ("دیدار ۱۵ مارس امیرعبداللهیان و لاوروف درباره چه بود؟", ESFAND, "سعید خطیب زاده"),
    ],
)
def test_follow_up_is_resolved_against_the_trip_asked_about(answerer, first, trip, delegate):
    conversation = Conversation()
    answerer.answer(first, conversation=conversation)
    follow_up = answerer.answer(
        "چه کسانی او را در این سفر همراهی کردند؟", conversation=conversation
    )
    assert [p.article_id for p in follow_up.parts] == [trip]
    assert squash(delegate) in squash(follow_up.text)


def test_reset_forgets(answerer):
    conversation = Conversation()
    answerer.answer("امیرعبداللهیان در سفر فروردین به مسکو چه گفت؟", conversation=conversation)
    conversation.reset()
    answer = answerer.answer("چه کسانی او را در این سفر همراهی کردند؟", conversation=conversation)
    assert len(answer.parts) == 2  # no trip to resolve against: both reports again


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("لاوروف و امیرعبداللهیان در 15 March درباره چه چیزی گفتگو می‌کنند؟", "برجام"),
        ("لاوروف و امیرعبداللهیان در ۲۴ اسفند درباره چه چیزی گفتگو می‌کنند؟", "برجام"),
        (
            "در تماس تلفنی بیست و دوم اسفند دو وزیر از توافق ایران با کدام کشور استقبال شد؟",
            "عربستان",
        ),
        ("حجم تبادل تجاری دو کشور چند برابر شده است؟", "۳.۵ برابر"),
    ],
)
def test_dates_and_digits_in_either_form(answerer, question, gold):
    answer = answerer.answer(question)
    assert not answer.abstained
    assert gold_in_text([[gold]], answer.text), answer.text


# A regression guard written in sessions 9 and 10, not a score: chat rewordings of seed questions
# whose first choice only restated the question ("… سفر وزیر خارجه ایران به مسکو …") and
# was declined, whose answer was in a passage not read, or whose sentence held whom he
# met without a post.
@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("وزیر خارجه چه زمانی وارد مسکو شد؟", "هشتم فروردین"),  # the event, looked at again
        ("وزیر خارجه کی رسید مسکو؟", "هشتم فروردین"),
        ("وزیر خارجه ایران با کی دیدار کرد؟", "لاوروف"),  # whom, named without a post
        # the list is in the sixth passage of the article dated اسفند, read since
        ("هیئت همراه وزیر خارجه تو سفر اسفند کیا بودن؟", "حقیقیان"),
        # "بود که … می‌رفت" asks about a trip made: the announcement of it does not answer
        ("امیرعبداللهیان چندمین بار بود که به مسکو میرفت؟", "چهارمین"),
        # "قبلی" no longer carries the question (it was declined as one about "قبل")
        ("سفر قبلی امیرعبداللهیان به مسکو کی بود؟", "شهریور"),
        # "درباره چه چیزی" asks the topic: "در مورد برجام", not the dates of earlier talks
        ("وزير خارجه ايران با لاوروف درباره چه چيزي گفتگو ميكند؟", "برجام"),
        # "who is <name>?", declined for its one word, is answered by the name's post
        ("صفری کیه؟", "معاون دیپلماسی اقتصادی"),
        ("علی اصغر خاجی چه سمتی داره؟", "مشاور ارشد"),
    ],
)
def test_seed_rewordings_get_the_sentence_with_the_asked_fact(answerer, question, gold):
    answer = answerer.answer(question)
    assert not answer.abstained, answer.text
    assert gold_in_text([[gold]], answer.text), answer.text


def test_also_glued_to_the_next_word_weighs_as_that_word(answerer):
    # hazm reads "هم صحبت" as the compound "هم‌صحبت" (an interlocutor), which no article
    # holds: it outweighed the question and declined it. Which sentence answers is the
    # ranker's choice, and moved with session 11's re-embedding (README, "Still wrong").
    question = "تو سفر مسکو درباره اوکراین هم صحبت شد؟"
    assert not any(token.startswith("هم") for token in answerer.read_question(question, []).weights)
    assert not answerer.answer(question).abstained


@pytest.mark.parametrize("question", ["سفر وزیر به همدان کی بود؟", "همایش کی برگزار شد؟"])
def test_a_word_typed_whole_that_begins_with_ham_keeps_its_weight(answerer, question):
    # only a "هم" that hazm joined is taken off: "همدان" is no "also" + "دان"
    weights = answerer.read_question(question, []).weights
    assert any(token.startswith("هم") for token in weights), weights
    assert answerer.answer(question).abstained  # no seed article names them


def test_how_long_a_trip_lasted_is_declined_when_no_article_says(answerer):
    # "طول کشید" asks about a trip made; the announcement "… از سفر … خبر داده بود"
    # names the trip and no length of it
    assert answerer.answer("سفر وزیر خارجه به مسکو چند روز طول کشید؟").abstained


def test_date_in_the_other_calendar_is_not_a_missing_word(answerer):
    # The article says "هشتم فروردین"; 28 March is the same day.
    answer = answerer.answer("امیرعبداللهیان در ۲۸ مارس کجا بود؟")
    assert not answer.abstained
    assert [p.article_id for p in answer.parts] == [FARVARDIN]
    assert "مسکو" in answer.text


def test_unrelated_sentences_of_two_articles_are_not_two_reports(answerer):
    # Both articles name Lavrov, but not as two answers to the same question.
    assert len(answerer.answer("لاوروف کیست؟").parts) <= 1


@pytest.mark.parametrize("question", ["؟", "این چیست؟", "چه؟"])
def test_question_without_content_is_declined(answerer, question):
    assert answerer.answer(question).abstained


def test_empty_index_says_so(seed_index_copy, embedder):
    from index.search import KnowledgeBase
    from index.store import update_index

    update_index(seed_index_copy, embedder, remove_ids=[ESFAND, FARVARDIN])
    answer = Answerer(KnowledgeBase(seed_index_copy, embedder)).answer("حق مشروع سوری‌ها چیست؟")
    assert answer.abstained and "pasokh index add" in answer.text


def test_an_answer_stays_on_the_version_it_started_with(seed_index_copy, embedder, monkeypatch):
    from index.readers import Article
    from index.search import KnowledgeBase
    from index.store import update_index

    kb = KnowledgeBase(seed_index_copy, embedder)
    answerer = Answerer(kb)
    started_on = kb.version
    seen_versions = []
    original_search = KnowledgeBase.search

    def search_then_swap(self, *args, **kwargs):
        passages = original_search(self, *args, **kwargs)
        # Another process writes a new version and the live knowledge base reloads …
        update_index(seed_index_copy, embedder, [Article(id="z", title="ز", text="متن تازه.")])
        kb.reload_if_changed()
        seen_versions.append(self.version)
        return passages

    monkeypatch.setattr(KnowledgeBase, "search", search_then_swap)
    answer = answerer.answer("حق مشروع سوری‌ها چیست؟")
    assert kb.version != started_on  # the live one moved on …
    assert seen_versions == [started_on]  # … the answer's view did not
    assert "تعیین مستقل آینده" in answer.text


# -- the two-report rule, on articles written for it ---------------------------------------
TWO_TRIPS = [
    {
        "id": "trip-esfand",
        "title": "سفر وزیر امور خارجه به مسکو در اسفند",
        "source": "خبرگزاری نمونه",
        "published": "2023-03-15",
        "text": (
            "وزیر امور خارجه عصر سه‌شنبه ۲۴ اسفند در رأس هیأتی سیاسی وارد مسکو شد. "
            "در این سفر معاون اقتصادی وزیر و سخنگوی وزارت خارجه او را همراهی می‌کردند. "
            "وزیر در مسکو با همتای روس خود درباره گسترش همکاری‌های اقتصادی گفت‌وگو کرد. "
            "دیدار دو وزیر سه ساعت طول کشید."
        ),
    },
    {
        "id": "trip-farvardin",
        "title": "سفر وزیر امور خارجه به مسکو در فروردین",
        "source": "روزنامه نمونه",
        "published": "2023-03-29",
        "text": (
            "وزیر امور خارجه بامداد چهارشنبه نهم فروردین در رأس هیئتی سیاسی وارد مسکو شد. "
            "در این سفر رئیس دفتر وزیر و مدیرکل اروپا او را همراهی می‌کردند. "
            "دو وزیر درباره پرونده هسته‌ای و امنیت منطقه قفقاز گفت‌وگو کردند. "
            "نشست خبری مشترک پس از دیدار در ساختمان وزارت خارجه روسیه برگزار شد. "
            "این دومین سفر وزیر به مسکو پس از سفر اسفند است."
        ),
    },
    {
        "id": "harvest",
        "title": "آغاز برداشت گندم در خوزستان",
        "source": "خبرگزاری کشاورزی",
        "published": "2023-04-10",
        "text": (
            "برداشت گندم در استان خوزستان از هفته گذشته آغاز شده است. "
            "پیش‌بینی می‌شود امسال یک میلیون تن گندم از کشاورزان این استان خریداری شود. "
            "بارش‌های مناسب زمستان عملکرد مزارع را افزایش داده است."
        ),
    },
]


def answerer_over(folder, embedder, articles: list[dict]) -> Answerer:
    """An answerer over a fresh index of the articles, written to the folder."""
    import json

    from index.readers import read_paths
    from index.search import KnowledgeBase
    from index.store import update_index

    path = folder / "articles.jsonl"
    path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles), "utf-8")
    update_index(folder / "index", embedder, read_paths([path]).articles, fresh=True)
    return Answerer(KnowledgeBase(folder / "index", embedder))


@pytest.fixture(scope="module")
def trips_answerer(tmp_path_factory, embedder):
    return answerer_over(tmp_path_factory.mktemp("trips"), embedder, TWO_TRIPS)


# (question, articles the answer must come from, a string the answer must hold)
REPORTS = [
    # names neither trip, and each arrival sentence answers "when" on its own: both
    ("وزیر امور خارجه کی وارد مسکو شد؟", {"trip-esfand", "trip-farvardin"}, "مسکو"),
    # a month singles out one trip
    ("وزیر امور خارجه در سفر فروردین کی وارد مسکو شد؟", {"trip-farvardin"}, "نهم فروردین"),
    ("در سفر اسفند چه کسانی وزیر را همراهی کردند؟", {"trip-esfand"}, "سخنگوی"),
    # only one trip's text answers "how long": one report, not two
    ("دیدار دو وزیر در مسکو چقدر طول کشید؟", {"trip-esfand"}, "سه ساعت"),
    # the hamza spelling differs from the text ("هیأتی"), and the question says اسفند
    ("هیئت وزیر تو اسفند کی به مسکو رسید؟", {"trip-esfand"}, "۲۴ اسفند"),
    # both texts say اسفند (the second in passing), but only one trip is dated اسفند
    ("تو سفر اسفند وزیر با همتای روسش درباره چی گفتگو کرد؟", {"trip-esfand"}, "همکاری"),
]


@pytest.mark.parametrize(("question", "articles", "holds"), REPORTS)
def test_two_reports_only_when_the_question_singles_out_neither(
    trips_answerer, question, articles, holds
):
    answer = trips_answerer.answer(question)
    assert not answer.abstained, answer.text
    assert {p.article_id for p in answer.parts} == articles, answer.text
    assert holds in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "وزیر امور خارجه در سفر به پکن با چه کسی دیدار کرد؟",  # a city no article has
        "قرارداد خرید گاز در مسکو چه زمانی امضا شد؟",  # an event no article holds
        # the trips' texts tell arrivals only: no return, no leaving (each was answered
        # with an arrival before tells_no_asked_event)
        "وزیر امور خارجه کی از مسکو برگشت؟",
        "وزیر امور خارجه کی مسکو رو ترک کرد؟",
    ],
)
def test_questions_about_what_the_articles_do_not_hold_are_declined(trips_answerer, question):
    answer = trips_answerer.answer(question)
    assert answer.abstained, answer.text
    assert "سفر وزیر امور خارجه" in answer.text  # names what the archive does cover


@pytest.mark.parametrize(
    ("sentence", "question", "fact"),
    [
        (
            "لوین و پریتولا همکاری باز را چنین تعریف می‌کنند: «هر سیستم نوآوری یا تولیدی که"
            " متکی به شرکت کنندگان هدف گرا و در عین حال هماهنگ و شل باشد که برای ایجاد یک محصول"
            " (یا خدمات) با ارزش اقتصادی با یکدیگر تعامل دارند و آنها را به‌طور یکسان در اختیار"
            " عوامل و غیر مشارکت کنندگان قرار می‌دهند.» این تعریف چندین نمونه را ضبط می‌کند که"
            " اصول مشابهی را دنبال می‌کنند، از جمله نرم‌افزارهای متن‌باز و دانشنامه‌های آزاد.",
            "لوین و پریتولا همکاری باز را چگونه تعریف می‌کنند؟",
            "هر سیستم نوآوری یا تولیدی",
        ),
        (
            "وزیر امور خارجه کشورمان در دیدار با همتای روس خود در مسکو درباره معاهده همکاری‌های"
            " بلندمدت دو کشور گفت‌وگو کرد؛ دو طرف تاکید کردند که متن معاهده تا پایان ماه آینده"
            " نهایی می‌شود و بخش حقوقی وزارت خارجه دو کشور ویرایش نهایی آن را انجام خواهد داد، و"
            " پس از آن سند در سفر رئیس‌جمهور به روسیه امضا خواهد شد، سفری که هنوز تاریخ آن اعلام"
            " نشده است و به گفته دو طرف به زودی انجام می‌شود.",
            "وزیر امور خارجه در دیدار با همتای روس خود درباره معاهده همکاری‌های بلندمدت چه گفت؟",
            "متن معاهده تا پایان ماه آینده نهایی می‌شود",
        ),
    ],
)
def test_a_long_sentence_is_cut_around_the_question_keeping_what_follows(
    answerer, sentence, question, fact
):
    """The clause that matches the question's words often only restates it; the clauses
    after it, as many as fit, carry what it asks for."""
    from bot.answering import _shorten

    passages = answerer.kb.search(question, top_k=3)
    q = answerer.read_question(question, passages)
    assert len(sentence) > ANSWER_MAX_CHARS
    short = _shorten(sentence, q, ANSWER_MAX_CHARS)
    assert len(short) <= ANSWER_MAX_CHARS
    assert gold_in_text([[fact]], short), short


# -- a pronoun's person, on an article written for it -------------------------------------
BELIEF = {
    "id": "orientalism",
    "title": "کتاب شرق‌شناسی و پیامدهای استعمار",
    "source": "خبرگزاری نمونه",
    "published": "2023-03-30",
    "text": (
        "ادوارد سعید کتاب شرق‌شناسی را در سال ۱۹۷۸ در نیویورک منتشر کرد. "
        "وی بر این باور است که پیامدهای استعمار در قالب کودتا و جنگ داخلی تا امروز ادامه دارد. "
        "این کتاب تاکنون به بیش از سی زبان ترجمه شده است."
    ),
}


@pytest.fixture(scope="module")
def belief_answerer(tmp_path_factory, embedder):
    return answerer_over(tmp_path_factory.mktemp("belief"), embedder, [BELIEF, *TWO_TRIPS])


def test_a_who_answer_whose_subject_is_a_pronoun_comes_with_the_sentence_naming_him(
    belief_answerer,
):
    answer = belief_answerer.answer(
        "چه کسی بر این باور است که پیامدهای استعمار تا امروز ادامه دارد؟"
    )
    assert not answer.abstained, answer.text
    assert "ادوارد سعید" in answer.text and "بر این باور" in answer.text, answer.text
