"""Questions: private messages, group mentions and replies, and the answer buttons they get."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import (
    ContextTypes,
)

from bot import telegram_texts as texts
from bot.rendering import render_answer_html, render_answer_text
from bot.telegram.sending import Sending

log = logging.getLogger(__name__)


MAX_QUESTION_CHARS = 1000
_PERSIAN_RE = re.compile(r"[\u0600-\u06FF\uFB50-\uFDFF\uFE70-\uFEFF]")


class QuestionHandlers(Sending):
    """Questions: private messages, group mentions and replies, and the answer buttons they get."""

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if update.effective_chat.type == ChatType.PRIVATE:
            await self.answer_question(update, context, message.text or "")
            return
        question = self._addressed_text(message, context.bot)
        if question is not None:
            await self.answer_question(update, context, question)

    async def answer_question(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
    ) -> None:
        message = update.effective_message
        bot = context.bot
        question = question.strip()
        if not question:
            examples = self.examples()
            example = texts.esc(examples[0]) if examples else ""
            await self.send(bot, message, texts.ASK_USAGE.format(example=example))
            return
        if len(question) > MAX_QUESTION_CHARS:
            await self.send(bot, message, texts.esc(texts.TOO_LONG))
            return
        if not _PERSIAN_RE.search(question):
            await self.send(bot, message, texts.esc(texts.NOT_PERSIAN))
            return
        user = update.effective_user
        wait = self.rate.check(user.id if user else update.effective_chat.id)
        if wait:
            self.stats.count("rate_limited")
            limit = self.settings.rate_limit_per_minute
            await self.send(bot, message, texts.esc(texts.rate_limited(wait, limit)))
            return
        started = time.perf_counter()
        # The question's vector starts now, on the embedding thread, even while the
        # answering workers are busy with other people's questions (Embedder.prefetch_queries).
        prefetch = getattr(getattr(self.kb, "embedder", None), "prefetch_queries", None)
        if prefetch is not None:
            prefetch([question])
        conversation = self.conversations.get(update.effective_chat.id)
        # The language model, if any, phrases outside the answering pool: one slow reply
        # must not hold a worker that other users' searches need.
        apart = getattr(self.answerer, "phraser", None) is not None and hasattr(
            self.answerer, "aphrase"
        )
        async with self.typing(bot, message):
            chat_id = update.effective_chat.id
            if apart:
                answer = await self.answering.answer(chat_id, question, conversation, phrase=False)
                answer = await self.answerer.aphrase(answer)
            else:
                answer = await self.answering.answer(chat_id, question, conversation)
        await self.send(
            bot,
            message,
            render_answer_html(answer),
            self._answer_buttons(answer),
            plain_fallback=render_answer_text(answer),
        )
        self.stats.record(started, answer.abstained)

    def _answer_buttons(self, answer: Any) -> InlineKeyboardMarkup | None:
        if answer.abstained or not answer.parts:
            return None
        key = self.answers.put(answer)
        row = [InlineKeyboardButton("متن کامل", callback_data=f"p:{key}")]
        if texts.more_sources(answer) is not None:
            row.append(InlineKeyboardButton("منابع بیشتر", callback_data=f"m:{key}"))
        return InlineKeyboardMarkup([row])

    def _addressed_text(self, message: Message, bot: Any) -> str | None:
        """A group message's question if it is meant for the bot (mention or reply), else None."""
        text = message.text or message.caption or ""
        mentioned = False
        username = (bot.username or self.username).lower()
        entities = (
            message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
            if message.text
            else message.parse_caption_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
        )
        for entity, value in entities.items():
            if (entity.type == MessageEntity.MENTION and value[1:].lower() == username) or (
                entity.type == MessageEntity.TEXT_MENTION
                and entity.user is not None
                and entity.user.id == bot.id
            ):
                mentioned = True
                text = text.replace(value, " ", 1)
        replied = message.reply_to_message
        to_bot = (
            replied is not None
            and not message.is_topic_message
            and replied.from_user is not None
            and replied.from_user.id == bot.id
        )
        if not (mentioned or to_bot):
            return None
        return " ".join(text.split())
