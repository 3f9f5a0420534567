"""Telegram answer latency against the stand-in Bot API server: prints figures.

The real bot (python-telegram-bot over HTTP on loopback, the real model, the seed index)
answers the dev questions. Latency is the time from the moment getUpdates hands an
update to the bot until the server receives the sendMessage that answers it. Each
question comes from its own chat (no follow-up effects) and caches are cleared between
phases, so every answer is computed afresh:

- sequential: one question at a time (what one user sees);
- burst: all the dev questions at once;
- burst16 (--burst N): N different questions from N people at once (the dev questions,
  then the extra seed questions), repeated --rounds times with fresh caches; percentiles
  over every question of every round.

The bot paces its replies at Telegram's limit of 30 messages a second across chats
(python-telegram-bot's `AIORateLimiter`, a leaky bucket of 30 per second). Phases and
rounds start PACE_S apart, so that each burst meets the bucket drained, as 16 people
asking at once do; back to back (`--no-pause`, as before session 5) the ~70 replies of
the run in ~3 s are paced by the limiter, and the last rounds' tail measures it, not the
bot (measured: burst16 p95 430-455 ms paced, 186-196 ms with the limiter off).

    python -m bench.telegram_latency [--data tests/data/dev_seed_qa.jsonl] [--burst 16]
        [--rounds 3] [--no-pause] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot import app as wiring
from bot.answering import Answerer
from bot.telegram.app import build_application
from bot.telegram.settings import TelegramSettings
from index.metrics import latency_summary, read_jsonl
from index.readers import read_paths
from index.search import KnowledgeBase
from index.store import update_index
from tests.support import telegram_stub_server as stub
from tests.support.telegram import running

TOKEN = "1000:bench-token"
WARM_UP = "سفر وزیر خارجه به مسکو چه هدفی داشت؟"
PACE_S = 1.1  # the rate limiter's bucket (30 messages a second) drains in 1 s


def burst_questions(first: list[str], n: int) -> list[str]:
    """`n` different questions: `first`, then the extra seed questions."""
    extra = [row["question"] for row in read_jsonl(ROOT / "tests" / "data" / "extra_seed_qa.jsonl")]
    return list(dict.fromkeys(first + extra))[:n]


def default_data() -> Path:
    shared = ROOT.parent / "shared" / "eval" / "dev_seed_qa.jsonl"
    return shared if shared.exists() else ROOT / "tests" / "data" / "dev_seed_qa.jsonl"


class TimedAnswerer:
    """The answerer, recording how long each answer() call computes."""

    def __init__(self, inner: Answerer) -> None:
        self.inner, self.kb = inner, inner.kb
        self.compute_ms: list[float] = []

    def answer(self, question, conversation=None, top_k=5):
        started = time.perf_counter()
        try:
            return self.inner.answer(question, conversation, top_k)
        finally:
            self.compute_ms.append((time.perf_counter() - started) * 1000)

    def clear_caches(self) -> None:
        self.inner.vectors._cache.clear()
        self.inner._article_tokens.clear()
        self.kb.embedder._encode_query_cached.cache_clear()
        self.compute_ms.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(default_data()))
    parser.add_argument("--burst", type=int, default=16, help="questions at once")
    parser.add_argument("--rounds", type=int, default=3, help="bursts of --burst")
    parser.add_argument(
        "--no-pause",
        action="store_true",
        help="phases and rounds back to back (the reply rate limiter paces the last ones)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    questions = [row["question"] for row in read_jsonl(Path(args.data))]
    burst_of = burst_questions(questions, args.burst)
    embedder = wiring.load_embedder(wiring.load_settings())
    index_dir = Path(tempfile.mkdtemp(prefix="pasokh-bench-")) / "index"
    update_index(index_dir, embedder, read_paths([ROOT / "seeds"]).articles, fresh=True)
    answerer = TimedAnswerer(Answerer(KnowledgeBase(index_dir, embedder)))
    results: dict[str, dict] = {}

    with stub.StubBotApi(TOKEN) as api:
        settings = TelegramSettings.from_env(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE_URL": api.base_url,
                "PASOKH_RATE_LIMIT_PER_MINUTE": "0",
            }
        )
        app = build_application(settings, answerer)
        chat_ids = iter(range(10_000, 1_000_000))

        def latency_of(message: dict, timeout: float = 120.0) -> float:
            reply = api.wait_for_call(
                "sendMessage",
                where=lambda c: (
                    c.chat_id == message["chat"]["id"]
                    and (c.json_param("reply_parameters") or {}).get("message_id")
                    == message["message_id"]
                ),
                timeout=timeout,
            )[0]
            return (reply.at - api.delivered_at(api.update_id_of(message))) * 1000

        def pause() -> None:
            if not args.no_pause:
                time.sleep(PACE_S)

        def scenario() -> None:
            latency_of(api.push_text(next(chat_ids), text=WARM_UP))  # load lazy parts once
            answerer.clear_caches()
            pause()
            sequential = [latency_of(api.push_text(next(chat_ids), text=q)) for q in questions]
            results["sequential"] = {
                "n": len(sequential),
                **latency_summary(sequential),
                "max_ms": max(sequential),
                "answer_compute": latency_summary(answerer.compute_ms),
            }
            answerer.clear_caches()
            pause()
            pushed = [api.push_text(next(chat_ids), text=q) for q in questions]
            burst = [latency_of(m) for m in pushed]
            results["burst"] = {
                "n": len(burst),
                **latency_summary(burst),
                "max_ms": max(burst),
                "answer_compute": latency_summary(answerer.compute_ms),
            }
            many, computed = [], []
            for _ in range(max(1, args.rounds)):
                answerer.clear_caches()
                pause()
                pushed = [api.push_text(next(chat_ids), text=q) for q in burst_of]
                many += [latency_of(m) for m in pushed]
                computed += answerer.compute_ms
            results[f"burst{len(burst_of)}"] = {
                "n": len(many),
                **latency_summary(many),
                "max_ms": max(many),
                "answer_compute": latency_summary(computed),
            }

        async def run() -> None:
            async with running(app, poll_timeout=1.0):
                await asyncio.to_thread(scenario)

        asyncio.run(run())

    if args.json:
        print(json.dumps(results, indent=2))
        return
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Telegram update -> sendMessage latency, {len(questions)} dev questions, stand-in "
        f"server; phases {'back to back' if args.no_pause else f'{PACE_S} s apart'}; "
        f"load average {load}"
    )
    for phase, r in results.items():
        compute = r["answer_compute"]
        print(
            f"  {phase:<10} n {r['n']:3d}  p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   "
            f"max {r['max_ms']:7.1f} ms   (answer() alone: p50 {compute['p50_ms']:.1f}, "
            f"p95 {compute['p95_ms']:.1f} ms)"
        )


if __name__ == "__main__":
    main()
