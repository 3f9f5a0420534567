"""The bot's handlers, one module per kind of update; PasokhBot (bot/telegram/app.py) combines
them."""
