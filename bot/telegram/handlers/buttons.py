"""Inline buttons: the sources pages and an answer's "full text" and "more sources"."""

from __future__ import annotations

import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    ContextTypes,
)

from bot import telegram_texts as texts
from bot.telegram.sending import Sending

log = logging.getLogger(__name__)


SOURCES_PER_PAGE = 8


class ButtonHandlers(Sending):
    """Inline buttons: the sources pages and an answer's "full text" and "more sources"."""

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        kind, _, key = (query.data or "").partition(":")
        message = query.message
        if kind == "src" and key.isdigit():
            await query.answer()
            html, markup = self._sources_page(int(key))
            if isinstance(message, Message):
                try:
                    await self.retrying(
                        lambda: query.edit_message_text(
                            html, parse_mode=ParseMode.HTML, reply_markup=markup
                        )
                    )
                except BadRequest as err:
                    if "not modified" not in str(err).lower():
                        raise
            return
        answer = self.answers.get(key) if kind in ("p", "m") else None
        if answer is None or not isinstance(message, Message):
            await query.answer(texts.STALE_BUTTON, show_alert=True)
            return
        html = texts.full_passages(answer) if kind == "p" else texts.more_sources(answer)
        if not html:
            await query.answer(texts.NO_MORE_SOURCES, show_alert=True)
            return
        await query.answer()
        await self.send(context.bot, message, html)

    def _sources_page(self, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
        html, page, pages = texts.sources_page(self.kb.articles(), page, SOURCES_PER_PAGE)
        buttons = []
        if page > 0:
            buttons.append(InlineKeyboardButton("→ قبلی", callback_data=f"src:{page - 1}"))
        if page < pages - 1:
            buttons.append(InlineKeyboardButton("بعدی ←", callback_data=f"src:{page + 1}"))
        return html, InlineKeyboardMarkup([buttons]) if buttons else None
