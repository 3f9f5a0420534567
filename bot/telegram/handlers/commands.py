"""Slash commands: /start, /help, /ask, /new, /sources and the admins' /stats, /reload."""

from __future__ import annotations

import asyncio
import logging

from telegram import (
    Update,
)
from telegram.constants import ChatType
from telegram.ext import (
    ContextTypes,
)

from bot import telegram_texts as texts
from bot.telegram.sending import Sending

log = logging.getLogger(__name__)


class CommandHandlers(Sending):
    """Slash commands: /start, /help, /ask, /new, /sources and the admins' /stats, /reload."""

    async def cmd_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        articles, dates, examples = await self._start_facts()
        html = texts.start_message(
            user.first_name if user else "",
            articles,
            self.kb.manifest.get("built_at", ""),
            examples,
            dates,
        )
        await self.send(context.bot, update.effective_message, html)

    async def _start_facts(self) -> tuple[list, list[str], tuple[str, ...]]:
        """The articles, their dates and the examples /start shows: computed once per index
        version, in a worker thread (the dates read every article's text)."""
        version = self.kb.version
        cached = getattr(self, "_start_cache", None)
        if cached is None or cached[0] != version:
            articles = self.kb.articles()
            dates, examples = await asyncio.to_thread(
                lambda: (
                    texts.article_dates(articles),
                    self.settings.examples or texts.index_examples(articles),
                )
            )
            cached = self._start_cache = (version, articles, dates, examples)
        return cached[1], cached[2], cached[3]

    async def cmd_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        html = texts.help_message(
            context.bot.username or self.username,
            self.is_admin(update),
            self.max_upload_bytes / 1024 / 1024,
        )
        await self.send(context.bot, update.effective_message, html)

    async def cmd_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.answer_question(update, context, " ".join(context.args or []))

    async def cmd_new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.conversations.reset(update.effective_chat.id)
        await self.send(context.bot, update.effective_message, texts.esc(texts.NEW_CONVERSATION))

    async def cmd_sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        html, markup = self._sources_page(0)
        await self.send(context.bot, update.effective_message, html, markup)

    async def cmd_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.is_admin(update):
            await self.send(context.bot, update.effective_message, texts.esc(texts.ADMINS_ONLY))
            return
        if update.effective_chat.type != ChatType.PRIVATE:  # internals never go to a group
            await self.send(
                context.bot, update.effective_message, texts.esc(texts.STATS_PRIVATE_ONLY)
            )
            return
        summary = self.stats.summary()
        html = texts.stats_message(self.kb.manifest, summary["uptime_s"], summary)
        await self.send(context.bot, update.effective_message, html)

    async def cmd_reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.is_admin(update):
            await self.send(context.bot, update.effective_message, texts.esc(texts.ADMINS_ONLY))
            return
        changed = await asyncio.to_thread(self.reload_index)
        manifest = self.kb.manifest
        template = texts.RELOADED if changed else texts.NOT_RELOADED
        html = template.format(
            version=f"<code>{texts.esc(manifest['version'])}</code>",
            articles=texts.fa(manifest.get("articles", 0)),
            chunks=texts.fa(manifest.get("chunks", 0)),
        )
        await self.send(context.bot, update.effective_message, html)

    def examples(self) -> tuple[str, ...]:
        """`PASOKH_EXAMPLE_QUESTIONS`, else questions drawn from the indexed articles."""
        return self.settings.examples or texts.index_examples(self.kb.articles())

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.settings.admin_ids
