"""The kind of fact a question asks for, and whether a sentence adds one (sentences written here)."""

import pytest

from bot.answer_kind import (
    HOW_LONG,
    HOW_MANY,
    MONEY,
    OTHER,
    POST,
    SIGNED,
    TOPIC,
    WHEN,
    WHERE,
    WHO,
    WHY,
    asks_companions,
    asks_done,
    asks_with_whom,
    attributive_places,
    carries_asked_fact,
    counted_words,
    counts_asked,
    event_match,
    events,
    is_planned,
    met_with,
    ministry_fields,
    missing_destinations,
    missing_ministries,
    missing_places,
    names_post_of,
    predicate_match,
    question_kind,
    question_predicate,
    trip_destinations,
    who_is_subject,
)

QUESTION_KINDS = [
    ("وزیر خارجه چه زمانی به مسکو رسید؟", WHEN),
    ("وزیر کی به مسکو رسید؟", WHEN),  # colloquial کی before an arrival: when
    ("نشست سران کی برگزار میشه؟", WHEN),
    ("قرارداد در چه تاریخی امضا شد؟", WHEN),
    ("سفر تو کدوم روز بود؟", WHEN),
    ("کی گفت مذاکرات ادامه دارد؟", WHO),  # کی before a saying verb: who
    ("با کی دیدار کرد؟", WHO),
    ("سفیر جدید کی استوارنامه‌اش رو تقدیم کرد؟", WHEN),  # after its subject: when
    ("دفتر سازمان ملل در دوحه کی رسما افتتاح شد؟", WHEN),
    ("این کتاب رو کی نوشته؟", WHO),  # after the object: who
    ("رئیس هیئت اعزامی کی بود؟", WHO),
    ("سخنگوی وزارت خارجه که این خبر رو داد کی بود؟", WHO),
    ("هیئت همراه وزیر کیا بودن؟", WHO),
    ("چه کسی این خبر را اعلام کرد؟", WHO),
    ("عراقچی تو پکن با کدوم معاون وزیر خارجه دیدار کرد؟", WHO),
    ("مذاکرات چقدر طول کشید؟", HOW_LONG),
    ("دیدار دو وزیر چند ساعت طول کشید؟", HOW_LONG),
    ("چند نفر در این حادثه زخمی شدند؟", HOW_MANY),
    ("حجم مبادلات تجاری چقدره؟", HOW_MANY),
    ("توافقنامه در کدوم شهر امضا شد؟", WHERE),
    ("اجلاس بعدی کجاست؟", WHERE),
    ("ترامپ تو سفرش به هند قراره به کدوم ایالت بره؟", WHERE),
    ("وزیر چرا به پکن رفت؟", WHY),
    ("هدف سفر چی بود؟", WHY),
    ("هدف سفر امیرعبداللهیان به مسکو چی بود؟", WHY),
    ("هدف از سفر وزیر خارجه ایران به روسیه چیست؟", WHY),
    ("این سفر به چه منظوری انجام شد؟", WHY),
    ("علیرضا حقیقیان چه سمتی دارد؟", POST),
    ("حقیقیان چکاره‌ست؟", POST),
    ("سمت علیرضا حقیقیان چیه؟", POST),
    ("سفر سوم وزیر به مسکو کی بود؟", WHEN),  # an event's کی بود: when
    ("آخرین دیدار دو وزیر کی بود؟", WHEN),
    ("سخنگوی وزارت خارجه در سفر اسفند کی بود؟", WHO),  # a person's کی بود: who
    ("تو سفر فروردین معاون اقتصادی وزارت خارجه کی بود؟", WHO),
    ("دو کشور چه قراردادهایی امضا کردند؟", SIGNED),
    ("تو این سفر چی امضا شد؟", SIGNED),
    ("نام رسمی این بازی‌ها چیست؟", OTHER),
    # what was discussed or stressed
    ("دو وزیر درباره چی حرف زدن؟", TOPIC),
    ("در مورد چه موضوعاتی گفت‌وگو کردند؟", TOPIC),
    ("سر چی به توافق رسیدن؟", TOPIC),
    ("رئیس‌جمهور روی چه زمینه‌هایی تاکید کرد؟", TOPIC),
    ("موضوع مذاکرات دو هیئت چه بود؟", TOPIC),
    ("چه کسی درباره برجام حرف زد؟", WHO),  # names its topic and asks who
    # "who is <name>?" asks for the post; "who is <post or role>?" for a name
    ("لاوروف کیه؟", POST),
    ("مهدی صفری کی بود؟", POST),
    ("رئیس‌جمهور سوئیس کیست؟", WHO),
    ("سومین دبیرکل سازمان ملل کیست؟", WHO),
    ("بنیان‌گذار این شرکت چه کسی است؟", WHO),
    ("دکتر صفری کیه؟", POST),  # a title is no post
    ("رامین کیه؟", POST),  # a name that ends as an ordinal does
    ("سفر قبلی امیرعبداللهیان کی بود؟", WHEN),  # an event's کی بود asks when
    ("جلسه بعدی کی است؟", WHEN),
    ("او کیست؟", WHO),  # a pronoun is no name
    # "رو" is chat's را, and "چه کسی" asks who, wherever it stands
    ("قرارداد رو چه کسی امضا کرد؟", WHO),
    ("درباره چه کسی صحبت کرد؟", WHO),
]


@pytest.mark.parametrize(("question", "kind"), QUESTION_KINDS)
def test_question_kind(question, kind):
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("لاوروف کیه؟", "لاوروف"),
        ("دکتر صفری کیه؟", "صفری"),  # without the title
        ("علی اصغر خاجی چه سمتی داره؟", "علیاصغر خاجی"),  # matching form: hazm joins the name
        ("شویگو چه سمتی داشت؟", "شویگو"),
        ("وزیر خارجه چه سمتی داره؟", None),  # a post, not a name
        ("او چه سمتی دارد؟", None),  # a pronoun
        ("حقیقیان در سفر چه سمتی داشت؟", None),  # an event: not the name alone
        ("رئیس‌جمهور سوئیس کیست؟", None),
    ],
)
def test_who_is_subject(question, subject):
    assert who_is_subject(question) == subject


# (question, a sentence that adds the asked fact, a sentence that restates the question)
ADDS_VERSUS_RESTATES = [
    (
        "وزیر خارجه کی به مسکو رسید؟",
        "وزیر خارجه در ساعات پایانی سه شنبه شب هشتم فروردین ماه وارد مسکو شد.",
        "وزیر خارجه برای دیدار با همتای روس خود وارد مسکو شد.",
    ),
    (
        "ایران و عمان توافقنامه همکاری را در کدام شهر امضا کردند؟",
        "این توافقنامه روز دوشنبه در مسقط به امضای دو طرف رسید.",
        "ایران و عمان توافقنامه همکاری را امضا کردند.",
    ),
    (
        "دیدار دو وزیر چقدر طول کشید؟",
        "گفت‌وگوی دو وزیر سه ساعت به درازا کشید.",
        "دیدار دو وزیر در فضایی صمیمانه برگزار شد.",
    ),
    (
        "چه کسی پایان مذاکرات را اعلام کرد؟",
        "سخنگوی وزارت خارجه پایان مذاکرات را اعلام کرد.",
        "پایان مذاکرات اعلام شد.",
    ),
    (  # a name set before its post by a comma
        "وزیر دفاع اندونزی که با رامسفلد مذاکره کرد کی بود؟",
        "جوانو سودارسونو، وزیر دفاع اندونزی با رامسفلد مذاکره کرد.",
        "وزیر دفاع اندونزی با رامسفلد مذاکره کرد.",
    ),
    (
        "حجم تجارت دو کشور چقدر افزایش یافت؟",
        "حجم تجارت دو کشور ۳.۵ برابر شد.",
        "حجم تجارت دو کشور افزایش یافت.",
    ),
    (
        "وزیر به چه منظور به پکن سفر کرد؟",
        "وزیر برای رایزنی درباره پرونده هسته‌ای به پکن سفر کرد.",
        "وزیر به پکن سفر کرد.",
    ),
    (
        "وزیر چندمین بار است که به پکن سفر می‌کند؟",
        "این سومین سفر وزیر به پکن در سال جاری است.",
        "وزیر امروز برای سفری رسمی به پکن رفت.",
    ),
    (  # a day of a month ("هشتم فروردین") counts nothing
        "وزیر چندمین بار بود که به مسکو می‌رفت؟",
        "این چهارمین سفر وزیر به مسکو پس از تصدی وزارت است.",
        "وزیر در ساعات پایانی سه شنبه شب هشتم فروردین ماه وارد مسکو شد.",
    ),
    (
        "این دور مذاکرات چندمین دوره است؟",
        "مذاکرات ژنو دوازدهمین دور گفت‌وگوها بود.",
        "دور تازه مذاکرات در ژنو آغاز شد.",
    ),
    (
        "دو وزیر درباره چی مذاکره کردن؟",
        "دو وزیر در مورد همکاری‌های بانکی و ترانزیت کالا مذاکره کردند.",
        "دو وزیر در ساختمان وزارت خارجه با یکدیگر مذاکره کردند.",
    ),
    (  # "برای سومین بار" counts a trip; it gives no reason for it
        "هدف سفر وزیر به پکن چه بود؟",
        "وزیر به منظور رایزنی درباره تجارت عازم پکن شد.",
        "وزیر برای سومین بار به پکن سفر کرد.",
    ),
    (  # "چندمین بار" asks for an ordinal, not any number of the sentence
        "وزیر چندمین بار است که به پکن می‌رود؟",
        "این سومین سفر وزیر به پکن است.",
        "حجم تجارت دو کشور ۳.۵ برابر شد و وزیر به پکن رفت.",
    ),
    (  # "با کی دیدار کرد؟": whom he met, named without a post
        "وزیر با کی دیدار کرد؟",
        "امیرعبداللهیان در پکن با وانگ یی دیدار کرد.",
        "این دیدار با توجه به پرونده تجارت در پکن برگزار شد.",
    ),
    (  # chat's "کدوم مقام"
        "وزیر تو سفر پکن با کدوم مقام چینی دیدار کرد؟",
        "امیرعبداللهیان در پکن با وانگ یی دیدار کرد.",
        "این دیدار با توجه به پرونده تجارت در پکن برگزار شد.",
    ),
    (
        "وزیر با چه کسی گفتگو کرد؟",
        "امیرعبداللهیان با وانگ یی گفت و گو کرد.",
        "گفتگوی دو طرف دو ساعت طول کشید.",
    ),
    (
        "در این سفر چه اسنادی امضا شد؟",
        "در این سفر سه تفاهم‌نامه همکاری در زمینه انرژی امضا شد.",
        "این سفر با استقبال رسمی آغاز شد.",
    ),
]


@pytest.mark.parametrize(("question", "adds", "restates"), ADDS_VERSUS_RESTATES)
def test_a_sentence_must_add_the_asked_fact(question, adds, restates):
    kind = question_kind(question)
    assert carries_asked_fact(kind, adds, question)
    assert not carries_asked_fact(kind, restates, question)


def test_a_date_the_question_already_names_is_no_new_fact():
    question = "وزیر در هشتم فروردین کی به مسکو رسید؟"
    assert not carries_asked_fact(WHEN, "وزیر هشتم فروردین ماه به مسکو رفت.", question)
    assert carries_asked_fact(WHEN, "وزیر هشتم فروردین ماه ساعت ۲۳ به مسکو رسید.", question)


# a year of any age, written as the text writes it (not only 13xx, 14xx, 19xx, 20xx)
YEARS_OF_ANY_AGE = [
    ("کاروان‌سرای شاه عباسی در سال ۱۰۲۰ ساخته شد.", True),
    ("قلعه در ۱۶۶۹ به دست سپاه عثمانی افتاد.", True),
    ("شاعر در ۴۴۴ هجری قمری به اصفهان رسید.", True),
    ("بنای مسجد از اوایل سده چهارم آغاز شد.", True),
    ("این روستا از اواخر دوران صفوی آباد شد.", True),
    ("در ۱۵۰۰ نفر از اهالی روستا در جشن حاضر شدند.", False),  # a count, not a year
    ("فاصله دو شهر در ۱۲۰۰ کیلومتری است.", False),
    ("جشنواره از ۱۰۰۰ نفری که ثبت نام کردند پذیرایی کرد.", False),
    ("دانشگاه در پایان سالن اجتماعات را گشود.", False),
    ("مسافر ۵ سال ۳ ماه در کاروان‌سرا ماند.", False),
    ("کاروان‌سرا با آجر و سنگ ساخته شده است.", False),
]


@pytest.mark.parametrize(("sentence", "dated"), YEARS_OF_ANY_AGE)
def test_a_year_of_any_age_answers_when(sentence, dated):
    assert carries_asked_fact(WHEN, sentence, "کاروان‌سرا کی ساخته شد؟") is dated


def test_any_sentence_can_answer_a_question_of_no_particular_kind():
    assert question_kind("برجام چیست؟") == OTHER
    assert carries_asked_fact(OTHER, "برجام توافق هسته‌ای ایران و شش قدرت است.", "برجام چیست؟")


# (question, a sentence that names no person by post, one that does)
NAMES_ARE_NOT_POSTS = [
    (
        "لاوروف کیست؟",
        "امیرعبداللهیان و لاوروف نیز تلفنی با یکدیگر گفت‌وگو کردند.",
        "لاوروف وزیر امور خارجه روسیه است.",
    ),
    (
        "چه کسی با امیرحسین دیدار کرد؟",
        "امیرحسین دیروز به شیراز رفت.",
        "سفیر ژاپن با امیرحسین دیدار کرد.",
    ),
]


@pytest.mark.parametrize(("question", "no_fact", "fact"), NAMES_ARE_NOT_POSTS)
def test_a_name_that_begins_like_a_post_is_no_post(question, no_fact, fact):
    assert not carries_asked_fact(question_kind(question), no_fact, question)
    assert carries_asked_fact(question_kind(question), fact, question)


# (question, text around the answer, places the question names that the text lacks)
PLACES = [
    ("وزیر در سفر به پکن با چه کسی دیدار کرد؟", "وزیر در مسکو با همتای روس دیدار کرد.", {"پکن"}),
    ("وزیر در سفر به مسکو با چه کسی دیدار کرد؟", "وزیر در مسکو با همتای روس دیدار کرد.", set()),
    ("تو آمریکا چی امضا شد؟", "این قرارداد در امریکا امضا شد.", set()),
    ("در کدام شهر امضا کردند؟", "قرارداد در تهران امضا شد.", set()),  # a kind of place, no name
    # any country, by its name in the CLDR (Babel), not only those written by hand
    (
        "رئیس جمهور فنلاند کی به تهران سفر میکنه؟",
        "رئیس جمهور ژاپن فردا به تهران می‌آید.",
        {"فنلاند"},
    ),
    ("وزیر خارجه سوئیس با کی دیدار کرد؟", "وزیر خارجه سوییس با ظریف دیدار کرد.", set()),
    ("نخست وزیر نروژ تو اسلو چی گفت؟", "نخست‌وزیر هلند در لاهه سخن گفت.", {"نروژ"}),
    # a country's name that is also a common word is no place
    ("کمک مالی ژاپن به ایران چقدر بود؟", "ژاپن ۱۰ میلیون دلار به ایران کمک کرد.", set()),
]


@pytest.mark.parametrize(("question", "around", "missing"), PLACES)
def test_places_the_question_names_must_be_around_the_answer(question, around, missing):
    assert missing_places(question, around) == missing


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("وزیر دفاع روسیه به تهران آمد.", {"دفاع"}),
        ("سخنگوی وزارت امور خارجه گفت", {"خارجه"}),
        ("وزرای نفت اوپک در وین دیدار کردند", {"نفت"}),
        ("وزیر آموزش و پرورش", {"اموزش"}),  # in the matching form
        ("وزير كشور و وزیر اقتصاد", {"کشور", "اقتصاد"}),  # Arabic yeh and kaf
        ("وزیر خارجه کشورمان", {"خارجه"}),
        ("وزیر خارجه کشور ما", {"خارجه"}),  # a second field only after "و" or "،"
        # glued, plural, and official names: one ministry by any of its names
        ("وزیرخارجه ایران و وزیر امورخارجه", {"خارجه"}),
        ("وزیران خارجه و دفاع دو کشور", {"خارجه", "دفاع"}),
        ("وزیر امور اقتصادی و دارایی", {"اقتصاد"}),
        ("وزیر صنعت، معدن و تجارت", {"صنعت"}),
        ("وزیر جهاد کشاورزی", {"کشاورزی"}),
        ("وزیر جنگ اسرائیل", {"دفاع"}),
        ("وزیر خزانه‌داری آمریکا", {"اقتصاد"}),
        ("وزارتخانه‌های نفت و نیرو", {"نفت", "نیرو"}),
        ("در زمان وزارت خواجه نظام الملک", set()),  # a vizierate, no ministry
        ("زیر نظر کدام وزارت است؟", set()),
        ("وزیران دو کشور دیدار کردند", set()),
        ("وزیری از ژاپن آمد", set()),
        ("نخست وزیری کشور فرانسه", set()),  # the prime minister, apart
    ],
)
def test_ministry_fields_a_text_names(text, fields):
    assert ministry_fields(text) == fields


@pytest.mark.parametrize(
    ("question", "around", "missing"),
    [
        (
            "وزیر خارجه تو مسکو با وزیر دفاع روسیه دیدار کرد؟",
            "وزیر امور خارجه در مسکو با لاوروف، وزیر خارجه روسیه، دیدار کرد.",
            {"دفاع"},
        ),
        (
            "وزیر دفاع روسیه کی به تهران اومد؟",
            "شویگو وزیر دفاع روسیه سه شنبه وارد تهران شد.",
            set(),
        ),
        ("وزارت نیرو چه قراردادی امضا کرد؟", "وزیر نیرو قرارداد سد را امضا کرد.", set()),
        ("لاوروف با کی دیدار کرد؟", "لاوروف با وزیر کشور دیدار کرد.", set()),
        ("وزیر خارجه کی وارد ریاض شد؟", "وزیرامورخارجه ایران دیروز وارد ریاض شد.", set()),
        ("وزیر اقتصاد چی گفت؟", "وزیر امور اقتصادی و دارایی گفت", set()),
    ],
)
def test_ministries_the_question_names_must_be_around_the_answer(question, around, missing):
    assert missing_ministries(question, around) == missing


# (question, does it ask about something that happened?)
DONE_QUESTIONS = [
    ("رامسفلد تو سفر به جاکارتا چه قراردادی امضا کرد؟", True),
    ("نتیجه سفر وزیر به آنکارا چی شد؟", True),  # the outcome
    ("نشست سران آخرش کجا برگزار شد؟", True),
    ("وزیر کی وارد مسکو شد؟", True),
    ("دیدار دو وزیر در رم چقدر طول کشید؟", True),  # took how long: it is over
    ("وزیر چندمین بار بود که به رم می‌رفت؟", True),
    ("دو وزیر درباره چی حرف زدن؟", True),
    ("نشست بعدی کی انجام می‌گیره؟", False),
    ("رئیس جمهور فنلاند کی به تهران سفر میکنه؟", False),  # a plan
    ("ترامپ تو سفرش به هند قراره به کدوم ایالت بره؟", False),
    ("هدف سفر چیست؟", False),
]


@pytest.mark.parametrize(("question", "done"), DONE_QUESTIONS)
def test_asks_done(question, done):
    assert asks_done(question) is done


# (sentence, does it only announce or plan the event?)
PLANNED_SENTENCES = [
    ("سخنگو پیش‌تر از سفر وزیر به مسکو خبر داده بود.", True),
    ("وزیر دفاع قرار است روزهای ۶ تا ۸ ژوئن به جاکارتا سفر کند.", True),
    ("دو کشور هفته آینده توافقنامه را امضا خواهند کرد.", True),
    ("وزیر عصر دوشنبه وارد مسکو شد.", False),
    ("دو طرف سه سند همکاری امضا کردند.", False),
]


@pytest.mark.parametrize(("sentence", "planned"), PLANNED_SENTENCES)
def test_is_planned(sentence, planned):
    assert is_planned(sentence) is planned


# (text, the kinds of event it names): one event, in the words of either side
EVENTS = [
    ("وزیر کی وارد مسکو شد؟", {"arrive"}),
    ("در بدو ورود به مسکو گفت", {"arrive"}),
    ("تهران را به مقصد مسکو ترک کرد", {"depart"}),
    ("دو طرف سند همکاری امضا کردند", {"sign"}),
    ("نشست سران در پکن برگزار شد", {"hold"}),
    ("وزیران با یکدیگر دیدار و گفت‌وگو کردند", {"meet"}),
    ("دو وزیر درباره چی حرف زدن؟", {"meet"}),
    ("برداشت گندم آغاز شد", set()),
    # "وارد کرد" imports or inflicts: no arrival
    ("جنگ به هر دو کشور خسارت وارد کرد", set()),
    ("ایران سالانه گندم وارد می‌کند", set()),
    ("هیئت عصر دیروز وارد کشور شد", {"arrive"}),
    ("هیئت دیروز وارد کردستان شد", {"arrive"}),  # a word that begins as "کرد" is no verb
]


@pytest.mark.parametrize(("text", "kinds"), EVENTS)
def test_events(text, kinds):
    assert events(text) == kinds


# (sentence, whom it says someone met): not a manner ("با توجه به"), a purpose ("با هدف")
# or a second "با"
MET_WITH = [
    ("امیرعبداللهیان با وانگ یی دیدار کرد.", {"وانگ یی"}),
    ("وزیر با همتای روسی خود سرگئی لاوروف گفت و گو کرد.", {"همتای روسی خود سرگیی لاوروف"}),
    ("با توجه به اهمیت این دیدار، نشست تمدید شد.", set()),
    ("وزیر با هدف رایزنی دیدار کرد.", set()),
    ("وزیر با حضور سفیر با همتای خود دیدار کرد.", {"همتای خود"}),
]


@pytest.mark.parametrize(("sentence", "whom"), MET_WITH)
def test_met_with(sentence, whom):
    assert met_with(sentence) == whom


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("وزیر با چه کسایی ملاقات کرد؟", True),  # chat's plural of "who"
        ("وزیر با چه کسانی دیدار کرد؟", True),
        ("وزیر با کدوم مقام روس دیدار کرد؟", True),
        ("وزیر با لاوروف دیدار کرد؟", False),
    ],
)
def test_asks_with_whom(question, asks):
    assert asks_with_whom(question) is asks


# "برای" gives a reason, except before a count of times ("برای سومین بار", "برای بار دوم")
REASONS = [
    ("وزیر برای رایزنی به پکن رفت.", True),
    ("وزیر برای اعتبار بیشتر مذاکرات به پکن رفت.", True),
    ("وزیر برای سومین بار به پکن رفت.", False),
    ("وزیر برای چندمین‌بار به پکن رفت.", False),
    ("وزیر برای بار دوم به پکن رفت.", False),
]


@pytest.mark.parametrize(("sentence", "reason"), REASONS)
def test_a_count_of_times_is_no_reason(sentence, reason):
    question = "هدف سفر وزیر به پکن چه بود؟"
    assert carries_asked_fact(WHY, sentence, question) is reason


# (question, sentence, the share of the question's events the sentence tells of): a leg
# of a trip tells of the trip, a trip does not tell of its arrival
EVENT_MATCHES = [
    ("هدف سفر وزیر به رم چی بود؟", "وزیر برای رایزنی درباره‌ی بندر عازم رم شد.", 1.0),
    ("سفرش به رم چند روز طول کشید؟", "وزیر بامداد امروز وارد رم شد.", 1.0),
    ("سفرش به رم چند روز طول کشید؟", "وزیر پس از سه روز از رم بازگشت.", 1.0),
    ("وزیر کی وارد رم شد؟", "وزیر سه‌شنبه به رم سفر کرد.", 0.0),
    ("وزیر کی وارد رم شد؟", "وزیر صبح امروز تهران را به مقصد رم ترک کرد.", 0.0),
    ("در رم چه سندی امضا شد؟", "دو طرف در رم یک سند امضا کردند.", 1.0),
    ("در رم چه سندی امضا شد؟", "وزیر در رم با همتایش دیدار کرد.", 0.0),
    ("وزیر رم کیست؟", "وزیر رم مردی هفتادساله است.", 1.0),
]


@pytest.mark.parametrize(("question", "sentence", "share"), EVENT_MATCHES)
def test_event_match(question, sentence, share):
    assert event_match(question, sentence) == share


# (question, what it counts): the noun after چند / چه تعداد, with its multiplier
COUNTED = [
    ("هیات تجاری ترکیه چند نفر بود؟", ("نفر",)),
    ("مبلغ توافق چند میلیون دلار بود؟", ("میلیون", "دلار")),
    ("چه تعداد کشور در نشست شرکت کردند؟", ("کشور",)),
    ("چندتا سند امضا کردن؟", ("سند",)),
    ("چند بار به مسکو رفته؟", ("بار",)),
    # money asked without its currency
    ("قیمت نفت چند است؟", (MONEY,)),
    ("هزینه سفر هیئت ایرانی به مسکو چقدر بود؟", (MONEY,)),
    ("ارزش مبادلات تجاری دو کشور چقدره؟", (MONEY,)),
    ("این قرارداد چه مبلغی داشت؟", (MONEY,)),
    ("حجم تبادل تجاری چقدر بود؟", ()),  # an amount, not money
    ("ارزش غذایی موز چقدر است؟", ()),
    ("اعتبار این خبر چقدر است؟", ()),
    ("امیرعبداللهیان کی وارد مسکو شد؟", ()),
]


@pytest.mark.parametrize(("question", "words"), COUNTED)
def test_counted_words(question, words):
    assert counted_words(question) == words


# (question, sentence, does a number in the sentence count what the question counts?)
COUNTS = [
    ("هیات چند نفر بود؟", "هيات ترك متشكل از ۳۰۰ نفر بازرگان است.", True),
    ("هیات چند نفر بود؟", "هیات در سال ۱۳۸۳ به تهران آمد.", False),
    ("مبلغ توافق چند میلیون دلار بود؟", "دو طرف بر سر ۳۰ میلیون دلار توافق کردند.", True),
    ("مبلغ توافق چند میلیون دلار بود؟", "توافق در ۷ بند تنظیم شد.", False),
    ("چند کشور شرکت کردند؟", "نمایندگان ۱۲ کشورها در نشست بودند.", True),
    ("نشست در کدام شهر برگزار شد؟", "نشست در سه روز برگزار شد.", True),  # nothing counted
    ("چند بار به مسکو رفته؟", "این چهارمین سفر او به مسکو است.", True),  # an ordinal counts times
    ("چند بار به مسکو رفته؟", "او برای ۳ بار به مسکو رفت.", True),
    ("چند بار به مسکو رفته؟", "او در سال ۱۴۰۰ به مسکو رفت.", False),
    ("هزینه سفر چقدر بود؟", "هزینه این سفر ۲ میلیون دلار بود.", True),
    ("هزینه سفر چقدر بود؟", "برای این سفر ۵۰۰ هزار یورویی خرج شد.", True),
    ("هزینه سفر چقدر بود؟", "حجم تبادل تجاری ۳.۵ برابر شد.", False),  # a number, no money
    ("قیمت سکه چنده؟", "قیمت هر سکه ۳۰ میلیون تومن شد.", True),  # chat's تومن
    ("قیمت نفت چند است؟", "نفت برنت بشکه‌ای ۸۰ دلار فروخته شد.", True),
]


@pytest.mark.parametrize(("question", "sentence", "counts"), COUNTS)
def test_counts_asked(question, sentence, counts):
    assert counts_asked(question, sentence) == float(counts)


# (question, its predicate: the word before its last light verb)
PREDICATES = [
    ("از طرف سوریه کدوم مقام‌ها تو دیدار حضور داشتن؟", "حضور"),
    ("امیرعبداللهیان کی وارد مسکو شد؟", "وارد"),
    ("چه کسانی در نشست شرکت کردند؟", "شرکت"),
    ("سفیر کی استوارنامه‌اش رو تقدیم کرد؟", "تقدیم"),
    ("وزیر خارجه روسیه کیست؟", ""),
    ("لاوروف چه گفت؟", ""),
]


@pytest.mark.parametrize(("question", "predicate"), PREDICATES)
def test_question_predicate(question, predicate):
    assert question_predicate(question) == predicate


def test_the_answer_names_the_predicate_in_its_own_form():
    q = "امیرعبداللهیان کی وارد مسکو شد؟"
    assert predicate_match(q, "او در بدو ورود به مسکو گفت") == 1.0
    assert predicate_match(q, "او تهران را به مقصد مسکو ترک کرد") == 0.0
    assert predicate_match("وزیر خارجه روسیه کیست؟", "هر جمله‌ای") == 1.0


# (name, a sentence that sets a post right after it, one that names the person without a post)
POSTS_AFTER_NAMES = [
    ("صفری", "مهدی صفری معاون دیپلماسی اقتصادی وزارت خارجه نیز در این سفر حضور داشت.",
     "صفری در این سفر حضور داشت."),
    ("لاوروف", "سرگئی لاوروف، وزیر امور خارجه روسیه، از این توافق استقبال کرد.",
     "گفت‌وگوی لاوروف و همتای ایرانی‌اش دو ساعت طول کشید."),
    # the post in its folded spelling: "رئیس‌جمهور" is "رییسجمهور" in the matching form
    ("علیف", "الهام علیف رئیس‌جمهور آذربایجان وارد تهران شد.", "علیف وارد تهران شد."),
    ("ماکرون", "امانوئل ماکرون رئيس جمهور فرانسه گفت …", "ماکرون گفت …"),
    # the post after the name is the object, someone else's
    ("لاوروف", "لاوروف، وزیر خارجه روسیه، گفت …", "لاوروف همتای ایرانی خود را پذیرفت."),
]  # fmt: skip


@pytest.mark.parametrize(("name", "with_post", "without"), POSTS_AFTER_NAMES)
def test_names_post_of(name, with_post, without):
    assert names_post_of(name, with_post)
    assert not names_post_of(name, without)


@pytest.mark.parametrize(
    "sentence",
    ["رئیس‌جمهور سوئیس گفت", "رئیس جمهور سوئیس گفت", "رييس جمهور سوئیس گفت", "نایب رئیس مجلس گفت"],
)
def test_a_post_is_a_fact_in_any_spelling(sentence):
    assert carries_asked_fact(POST, sentence, "او چه سمتی دارد؟")


# (question, asks who travelled with someone rather than whom someone met)
COMPANIONS = [
    ("ظریف با چه کسانی به پکن رفت؟", True),
    ("رئیس‌جمهور با کیا رفته بود نیویورک؟", True),
    ("وزیر نفت با کدوم مقامات اومد تهران؟", True),
    ("ظریف با چه کسانی دیدار کرد؟", False),
    ("تو سفر پکن با کی ملاقات کرد؟", False),  # a meeting on a trip: whom he met
    ("چه کسانی ظریف را همراهی کردند؟", False),  # asks who, the word is its own
    ("ظریف با کی به توافق رسید؟", False),  # reached an agreement: no trip
]  # fmt: skip


@pytest.mark.parametrize(("question", "asks"), COMPANIONS)
def test_asks_companions(question, asks):
    assert asks_companions(question) is asks


def test_companions_are_told_by_whom_accompanied_him():
    q = "وزیر خارجه با چه کسانی به پکن رفت؟"
    delegation = "معاون وزیر و سخنگوی وزارت خارجه، وزیر را در این سفر همراهی می‌کنند."
    arrival = "وزیر امور خارجه در بدو ورود به پکن گفت: روابط دو کشور رو به گسترش است."
    led = "وزیر امور خارجه در رأس هیئتی سیاسی و اقتصادی عازم پکن شد."
    assert carries_asked_fact(WHO, delegation, q)
    assert not carries_asked_fact(WHO, arrival, q)  # its speaker went, but says no companion
    assert carries_asked_fact(WHO, led, q)  # the delegation he led: an answer, if a vague one
    # whom he met is still told by a meeting
    assert carries_asked_fact(WHO, "او با نخست وزیر چین دیدار کرد.", "ظریف با کی دیدار کرد؟")


# (sentence, places it names only as whose post or institution it is, or as a count)
ATTRIBUTIVE = [
    ("رییس جمهوری اسلامی ایران اعلام کرد که دیدار ادامه دارد.", {"ایران"}),
    ("وزارت خارجه فدراسیون روسیه گفت.", {"روسیه"}),
    ("سفیر ایران در مسکو گفت.", {"ایران"}),  # "در مسکو" is where
    ("وزیر خارجه فرانسه در پاریس با همتای آلمانی دیدار کرد.", {"فرانسه"}),
    ("سران دو کشور گفت‌وگو کردند.", {"کشور"}),
    ("این دیدار در مسکو برگزار شد.", set()),
    ("سفیر ایران گفت در ایران سرمایه‌گذاری می‌کنند.", set()),  # named as a place once
    ("وزیر خارجه وارد مسکو شد.", set()),  # where he went, not whose minister
    ("معاون وزیر امور خارجه، مسکو را ترک کرد.", set()),
    ("نه ایران و نه روسیه با آن موافق نیستند.", set()),  # "نه" is "not", no count
]  # fmt: skip


@pytest.mark.parametrize(("sentence", "places"), ATTRIBUTIVE)
def test_attributive_places(sentence, places):
    assert attributive_places(sentence) == places


def test_where_is_not_answered_by_whose_post_a_place_is():
    q = "دیدار دو وزیر کجا بود؟"
    assert not carries_asked_fact(WHERE, "رییس جمهوری اسلامی ایران گفت دیدار دو وزیر مفید بود.", q)
    assert carries_asked_fact(WHERE, "دیدار دو وزیر در مسکو بود.", q)
    assert carries_asked_fact(WHERE, "وزیر خارجه ایران وارد مسکو شد.", "وزیر کجا رفت؟")
    # "which country" asks exactly whose post it is
    q = "وزیر خارجه کدوم کشور با ظریف دیدار کرد؟"
    assert carries_asked_fact(WHERE, "وزیر خارجه اتریش با ظریف دیدار کرد.", q)


# (question, the places it asks someone travelled to)
DESTINATIONS = [
    ("لاوروف کی میاد تهران؟", {"تهران"}),
    ("ظریف کی به پکن سفر کرد؟", {"پکن"}),
    ("وزیر کی وارد مسکو شد؟", {"مسکو"}),
    ("دفعه قبل کی رفته بود مسکو؟", {"مسکو"}),
    ("ظریف کی از پکن برگشت؟", set()),  # where he came from
    ("روابط ایران و روسیه چطوره؟", set()),  # no trip
    ("ایران به روسیه چه پیشنهادی داد؟", set()),  # "به" without a trip
    ("قرارداد گازی میان ایران و روسیه کی امضا شد؟", set()),  # "میان": between
    ("رفتار روسیه با ایران چطوره؟", set()),
]  # fmt: skip


@pytest.mark.parametrize(("question", "places"), DESTINATIONS)
def test_trip_destinations(question, places):
    assert trip_destinations(question) == places


def test_a_trip_needs_an_article_that_tells_going_there():
    left = "وزیر خارجه صبح امروز تهران را به مقصد مسکو ترک کرد."
    assert missing_destinations("لاوروف کی میاد تهران؟", left) == {"تهران"}
    assert missing_destinations("وزیر کی رفت مسکو؟", left) == frozenset()
    assert (
        missing_destinations("لاوروف کی میاد تهران؟", "لاوروف هفته آینده به تهران می‌آید.")
        == frozenset()
    )
    assert missing_destinations("لاوروف کی میاد تهران؟", "لاوروف در تهران گفت …") == frozenset()
    # a country named only by whose president he met: its capital may tell the trip
    met = "هوگو چاوز رئیس جمهور ونزوئلا در کاراکاس با احمدی نژاد دیدار کرد."
    assert missing_destinations("احمدی نژاد کی به ونزوئلا سفر کرد؟", met) == frozenset()
    left = "هیئت ایرانی از تهران عازم مسکو شد."
    assert missing_destinations("لاوروف کی میاد تهران؟", left) == {"تهران"}
    # an arrival told with the airport's name, a trip told by the country, "ترکیه"
    both = "لاوروف یکشنبه وارد فرودگاه مهرآباد تهران شد. وی امروز تهران را ترک کرد."
    assert missing_destinations("لاوروف کی وارد تهران شد؟", both) == frozenset()
    country = "لاوروف که به ایران سفر کرده بود، امروز تهران را به مقصد مسکو ترک کرد."
    assert missing_destinations("لاوروف کی اومد تهران؟", country) == frozenset()
    pipe = "این خط لوله، ایران را به ترکیه متصل می‌کند."
    assert missing_destinations("پوتین کی میاد ایران؟", pipe) == frozenset()
