"""Which questions are follow-ups, and what they borrow from the turn before."""

import pytest

from bot.conversation import Conversation, ConversationStore, Turn, is_follow_up, resolve


@pytest.mark.parametrize(
    ("question", "follow_up"),
    [
        ("چه کسانی او را در این سفر همراهی کردند؟", True),
        ("وی در آن دیدار چه گفت؟", True),
        ("و بعد از آن؟", True),
        ("همراهان؟", True),
        ("اون سفر کی تموم شد؟", True),  # chat-style
        ("بعدش کجا رفت؟", True),
        ("اونجا با کی دیدار کرد؟", True),
        ("عراقچی تو سفر پکن با کدوم معاون وزیر دیدار کرد؟", False),
        ("علیرضا حقیقیان چه سمتی دارد؟", False),
        ("رؤسای جمهور دو کشور چگونه با یکدیگر در ارتباط هستند؟", False),
    ],
)
def test_is_follow_up(question, follow_up):
    assert is_follow_up(question) is follow_up


def test_follow_up_borrows_subject_and_articles():
    conversation = Conversation()
    conversation.remember(Turn("امیرعبداللهیان در سفر فروردین به مسکو چه گفت؟", ["004"], False))
    resolved = resolve("چه کسانی او را در این سفر همراهی کردند؟", conversation)
    assert resolved.is_follow_up and resolved.focus_articles == ("004",)
    assert "فروردین" in resolved.search_query


def test_declined_turns_are_not_a_subject():
    conversation = Conversation()
    conversation.remember(Turn("سفر فروردین؟", ["004"], False))
    conversation.remember(Turn("قیمت دلار؟", [], True))
    assert resolve("او کیست؟", conversation).focus_articles == ("004",)


def test_new_question_is_not_rewritten():
    conversation = Conversation()
    conversation.remember(Turn("سفر فروردین؟", ["004"], False))
    resolved = resolve("علیرضا حقیقیان چه سمتی دارد؟", conversation)
    assert not resolved.is_follow_up and resolved.search_query == "علیرضا حقیقیان چه سمتی دارد؟"


def test_store_keeps_chats_apart_and_bounded():
    store = ConversationStore(max_chats=2)
    store.get(1).remember(Turn("a", ["x"], False))
    assert store.get(2).last_answered() is None
    assert store.get(1).last_answered().article_ids == ["x"]
    store.get(3)
    store.get(4)  # chat 1 is the least recently used: forgotten
    assert store.get(1).last_answered() is None
    store.get(4).remember(Turn("b", ["y"], False))
    store.reset(4)
    assert store.get(4).last_answered() is None
