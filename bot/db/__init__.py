"""SQL storage: models, engine and migrations, and the Accounts facade (bot.db.accounts)."""
