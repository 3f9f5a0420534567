"""Sending to Telegram: split to its limit, retried, with "typing…" while work runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from bot.rendering import split_message

log = logging.getLogger(__name__)

TYPING_INTERVAL = 4.0  # Telegram shows "typing…" for about 5 s


def _worth_retrying(err: BaseException) -> bool:
    """Flood control, 5xx, timeouts and connection errors; never a refusal (BadRequest)."""
    return isinstance(err, RetryAfter) or (
        isinstance(err, NetworkError) and not isinstance(err, BadRequest)
    )


_backoff = wait_exponential(multiplier=0.5, min=0.5, max=8.0)  # 0.5, 1, 2, 4, 8 s


def _wait(state: RetryCallState) -> float:
    """retry_after (+0.1 s) after a 429, else exponential back-off."""
    err = state.outcome.exception() if state.outcome else None
    if isinstance(err, RetryAfter):
        return _seconds(err.retry_after) + 0.1
    return _backoff(state)


def _log_retry(state: RetryCallState) -> None:
    err = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    if isinstance(err, RetryAfter):
        log.warning("flood control: waiting %.1f s before sending again", wait)
    else:
        log.warning(
            "sending failed (%s); attempt %d in %.1f s", err, state.attempt_number + 1, wait
        )


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sending:
    """Sending with splitting, retries and the typing indicator; needs `settings` and `typing_interval` on the bot."""

    async def send(
        self,
        bot: Any,
        message: Message,
        html: str,
        markup: InlineKeyboardMarkup | None = None,
        quote: bool = True,
        plain_fallback: str | None = None,
    ) -> None:
        """Send HTML to the message's chat, split to Telegram's limit, as a reply to it;
        the buttons go under the last piece. Retried on 429, 5xx and network errors."""
        pieces = split_message(html)
        try:
            await self._send_pieces(bot, message, pieces, ParseMode.HTML, markup, quote)
        except BadRequest as err:
            if plain_fallback is None or "parse" not in str(err).lower():
                raise
            log.warning("Telegram refused the HTML (%s); sending plain text", err)
            await self._send_pieces(
                bot, message, split_message(plain_fallback), None, markup, quote
            )

    async def _send_pieces(
        self,
        bot: Any,
        message: Message,
        pieces: list[str],
        parse_mode: str | None,
        markup: InlineKeyboardMarkup | None,
        quote: bool,
    ) -> None:
        thread_id = message.message_thread_id if message.is_topic_message else None
        last = len(pieces) - 1
        for i, piece in enumerate(pieces):
            kwargs = {
                "chat_id": message.chat_id,
                "text": piece,
                "parse_mode": parse_mode,
                "reply_markup": markup if i == last else None,
                "reply_parameters": ReplyParameters(
                    message.message_id, allow_sending_without_reply=True
                )
                if quote and i == 0
                else None,
                "message_thread_id": thread_id,
                "link_preview_options": LinkPreviewOptions(is_disabled=True),
            }
            await self.retrying(lambda kwargs=kwargs: bot.send_message(**kwargs))

    async def retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run a Bot API call, again after a 429 (its retry_after), a 5xx or a network
        error; a refusal (400, 403) is final. The rate limiter has already retried 429s."""
        retryer = AsyncRetrying(
            retry=retry_if_exception(_worth_retrying),
            wait=_wait,
            stop=stop_after_attempt(self.settings.send_retries + 1),
            before_sleep=_log_retry,
            reraise=True,
        )

        async def attempt() -> Any:  # a coroutine function: tenacity awaits only those
            return await call()

        return await retryer(attempt)

    @contextlib.asynccontextmanager
    async def typing(self, bot: Any, message: Message) -> AsyncIterator[None]:
        """Show "typing…" in the chat, re-sent every few seconds, while the block runs,
        from `settings.typing_delay` seconds on.

        Why the delay: most answers are out in tens of milliseconds, before a client would
        show the indicator; sending it anyway is one more Bot API request per question on
        the event loop and in the 30 requests a second that Telegram allows a bot."""
        thread_id = message.message_thread_id if message.is_topic_message else None
        delay = getattr(self.settings, "typing_delay", 0.0)

        async def keep_typing() -> None:
            if delay > 0:
                await asyncio.sleep(delay)
            while True:
                try:
                    await bot.send_chat_action(
                        message.chat_id, ChatAction.TYPING, message_thread_id=thread_id
                    )
                except TelegramError as err:
                    log.debug("typing indicator failed: %s", err)
                await asyncio.sleep(self.typing_interval)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
