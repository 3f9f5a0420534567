"""Per-chat memory: recent turns, and how a follow-up borrows its subject from them.

A follow-up ("چه کسانی او را در این سفر همراهی کردند؟") names its subject only by
pointing at it ("او", "این سفر"). Such a question is expanded with the previous
question's words, and its answer is steered to the article(s) the previous
answer came from, so "this trip" stays the trip the user was asking about.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from index.persian import content_words, normalize_for_matching

MAX_TURNS = 6
# Words that point back at something said before.
_ANAPHORA_RE = re.compile(
    r"(?<!\w)(?:(?:او|وی|ایشان|انها|ایشون|اون|اونا|اونها|خودش|انجا|اونجا|همانجا|همونجا)"
    r"|(?:این|ان|اون|همین|همان|همون)\s+(?:سفر|دیدار|دیدارها|مذاکره|مذاکرات|گفتوگو|توافق|معاهده|"
    r"موافقتنامه|بیانیه|سخنان|هیات|ملاقات|نشست|وزیر|مقام|مقامها|سال|ماه|روز|تاریخ|زمان|"
    r"کشور|کشورها|شخص|فرد|موضوع|مساله|سند|قرارداد))(?!\w)"
)
_CONTINUATION_RE = re.compile(
    r"^(?:و|خب|خوب|پس|بعد|بعدش|دیگه|دیگر|همچنین|چطور|چی|راستی|اهان)(?!\w)"
)
_SHORT_QUESTION_WORDS = 3


@dataclass
class Turn:
    question: str
    article_ids: list[str]
    abstained: bool
    at: float = field(default_factory=time.time)


@dataclass
class Conversation:
    turns: deque[Turn] = field(default_factory=lambda: deque(maxlen=MAX_TURNS))

    def reset(self) -> None:
        self.turns.clear()

    def last_answered(self) -> Turn | None:
        return next((t for t in reversed(self.turns) if not t.abstained), None)

    def remember(self, turn: Turn) -> None:
        self.turns.append(turn)


def is_follow_up(question: str) -> bool:
    normalized = normalize_for_matching(question)
    return bool(
        _ANAPHORA_RE.search(normalized)
        or _CONTINUATION_RE.search(normalized)
        or len(content_words(question)) <= 1
    )


@dataclass(frozen=True)
class ResolvedQuestion:
    search_query: str
    focus_articles: tuple[str, ...]
    is_follow_up: bool


def resolve(question: str, conversation: Conversation | None) -> ResolvedQuestion:
    """The query to search for, and the articles a follow-up refers to."""
    previous = conversation.last_answered() if conversation else None
    if previous is None or not is_follow_up(question):
        return ResolvedQuestion(question, (), False)
    borrowed = " ".join(
        w for w in content_words(previous.question) if w not in set(content_words(question))
    )
    return ResolvedQuestion(f"{question} {borrowed}".strip(), tuple(previous.article_ids), True)


class ConversationStore:
    """Conversations by chat id; the least recently used are forgotten beyond a bound."""

    def __init__(self, max_chats: int = 10_000, idle_seconds: float = 6 * 3600) -> None:
        self._chats: OrderedDict[object, Conversation] = OrderedDict()
        self._max_chats = max_chats
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()

    def get(self, chat_id: object) -> Conversation:
        with self._lock:
            conversation = self._chats.pop(chat_id, None)
            if conversation is None or (
                conversation.turns and time.time() - conversation.turns[-1].at > self._idle_seconds
            ):
                conversation = Conversation()
            self._chats[chat_id] = conversation
            while len(self._chats) > self._max_chats:
                self._chats.popitem(last=False)
            return conversation

    def reset(self, chat_id: object) -> None:
        with self._lock:
            self._chats.pop(chat_id, None)
