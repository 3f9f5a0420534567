"""The Telegram bot (python-telegram-bot 22, asyncio), split by job.

Every Persian text message in a private chat is a question; in groups the bot
answers when it is mentioned (@username), when a message replies to it, or on
`/ask …`. Answers come from the shared answering path (bot.answering), one at a
time in a worker thread so the event loop stays free, with "typing…" re-sent
every few seconds while the model works. Admins add articles by sending files.

- ``settings``: TelegramSettings (from bot.settings.Settings) and token redaction;
- ``stores``: rate limits, recent answers, the /stats figures;
- ``sending``: split, retry, typing;
- ``handlers/``: questions, commands, buttons, uploads;
- ``app``: PasokhBot and ``build_application``; ``main``: ``pasokh telegram``.

Settings are documented in bot/settings.py and the README's table.
"""
