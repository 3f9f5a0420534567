"""Telegram's answering pool: answers off the event loop, several chats at once, each in order."""

import asyncio
import threading

import pytest

from bot.answering import Answerer
from bot.conversation import Conversation
from bot.telegram.answering_pool import AnsweringPool

QUESTIONS = [
    "حق مشروع سوری‌ها چیست؟",
    "علیرضا حقیقیان چه سمتی دارد؟",
    "چه کسانی امیرعبداللهیان را در سفر به مسکو همراهی کردند؟",
    "قیمت دلار امروز چقدر است؟",
]


class RecordingAnswerer:
    """The real answerer, recording which questions were being answered at the same time."""

    def __init__(self, inner: Answerer) -> None:
        self.inner, self.kb = inner, inner.kb
        self.running: list[str] = []
        self.overlaps: list[tuple[str, ...]] = []
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def answer(self, question, conversation=None, top_k=5):
        with self._lock:
            self.running.append(question)
            self.overlaps.append(tuple(self.running))
            self.threads.add(threading.get_ident())
        try:
            return self.inner.answer(question, conversation, top_k)
        finally:
            with self._lock:
                self.running.remove(question)


@pytest.fixture()
def sequential(seed_kb):
    answerer = Answerer(seed_kb)
    return [answerer.answer(q).text for q in QUESTIONS]


def test_answers_of_many_chats_at_once_equal_one_at_a_time(seed_kb, sequential):
    recording = RecordingAnswerer(Answerer(seed_kb))
    pool = AnsweringPool(recording, workers=2)

    async def burst():
        loop_thread = threading.get_ident()
        answers = await asyncio.gather(
            *(pool.answer(chat, q, Conversation()) for chat, q in enumerate(QUESTIONS * 2))
        )
        return loop_thread, answers

    loop_thread, answers = asyncio.run(burst())
    pool.close()
    assert [a.text for a in answers] == sequential * 2
    assert loop_thread not in recording.threads  # the event loop never computes an answer


def test_one_chat_is_answered_in_order_with_its_conversation(seed_kb):
    recording = RecordingAnswerer(Answerer(seed_kb))
    pool = AnsweringPool(recording, workers=4)
    conversation = Conversation()
    first = "امیرعبداللهیان در سفر فروردین به مسکو چه گفت؟"
    follow_up = "چه کسانی او را همراهی کردند؟"

    async def same_chat():
        return await asyncio.gather(
            pool.answer(7, first, conversation), pool.answer(7, follow_up, conversation)
        )

    asyncio.run(same_chat())
    pool.close()
    assert all(len(running) == 1 for running in recording.overlaps)  # never both at once
    assert [q for (q,) in recording.overlaps] == [first, follow_up]
    assert not pool._chats  # nothing kept per chat once it is answered
