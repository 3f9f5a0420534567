"""The bot's small in-memory stores: per-user rate limits, recent answers for their
buttons, and the figures /stats shows. Bounded with cachetools (oldest out first)."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cachetools import FIFOCache, LRUCache

from index.metrics import latency_summary


class UserRateLimit:
    """At most `per_minute` questions per user in any 60 s window (0 turns it off)."""

    def __init__(
        self, per_minute: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.window = window
        self.clock = clock
        self._seen: LRUCache[int, deque[float]] = LRUCache(maxsize=50_000)

    def check(self, user_id: int) -> float:
        """0 and the question is counted; else how many seconds until one is allowed."""
        if self.per_minute <= 0:
            return 0.0
        now = self.clock()
        times = self._seen.get(user_id) or deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        self._seen[user_id] = times  # the least recently seen user goes first
        if len(times) >= self.per_minute:
            return self.window - (now - times[0])
        times.append(now)
        return 0.0


class AnswerCache:
    """Recent answers by a short id, for the inline buttons under them; bounded."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: FIFOCache[str, Any] = FIFOCache(maxsize=size)

    def put(self, answer: Any) -> str:
        key = secrets.token_urlsafe(6)
        self._answers[key] = answer  # the oldest answer goes first
        return key

    def get(self, key: str) -> Any | None:
        return self._answers.get(key)


@dataclass
class BotStats:
    """The figures /stats shows. `wait_for` lets a test or a benchmark block until a figure
    changes (a condition variable, not a polling loop)."""

    started: float = field(default_factory=time.monotonic)
    served: int = 0
    declined: int = 0
    rate_limited: int = 0
    reloads: int = 0
    errors: int = 0
    heartbeats: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def record(self, started: float, abstained: bool) -> None:
        with self._changed:
            self.served += 1
            self.declined += int(abstained)
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            self._changed.notify_all()

    def count(self, name: str) -> None:
        """One more of `name` (reloads, heartbeats, …)."""
        with self._changed:
            setattr(self, name, getattr(self, name) + 1)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[BotStats], bool], timeout: float = 30.0) -> bool:
        """Block until `predicate(self)` holds (True) or `timeout` seconds pass (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def summary(self) -> dict:
        return {
            "served": self.served,
            "declined": self.declined,
            "rate_limited": self.rate_limited,
            "reloads": self.reloads,
            "errors": self.errors,
            "uptime_s": time.monotonic() - self.started,
            **latency_summary(list(self.latencies_ms)),
        }
