"""Hostile-text timings (issue 10): prints how long the text paths take on inputs built
to make them slow. Figures, not a pass/fail: the tests check the properties behind them.

    python -m bench.hostile_text [--chars 20000]
"""

from __future__ import annotations

import argparse
import time

from index.dates import date_mentions


def timed(label: str, func, *args) -> None:
    started = time.perf_counter()
    func(*args)
    print(f"{label}: {(time.perf_counter() - started) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chars", type=int, default=20_000)
    n = parser.parse_args().chars
    timed(f"date_mentions, {n:,} letters without a space", date_mentions, "ب" * n)
    timed(f"date_mentions, {n:,} letters then a month", date_mentions, "م" * n + " فروردین")
    timed(f"date_mentions, ordinal repeated to {n:,} chars", date_mentions, "هشتم" * (n // 4))
    try:
        from bot.rendering import terminal_safe
    except ImportError:
        return
    timed(f"terminal_safe, {n:,} escape sequences", terminal_safe, "\x1b]0;x\x07" * n)


if __name__ == "__main__":
    main()
