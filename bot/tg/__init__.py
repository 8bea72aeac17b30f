"""The Telegram shell: the only package that imports python-telegram-bot."""
