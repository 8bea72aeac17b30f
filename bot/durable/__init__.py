"""Durable processing on several machines: a Redis Stream of updates between web and workers.

- `queue`: the stream, its consumer group and the few atomic steps (store, finish, park).
- `receiver`: the webhook endpoint and /healthz (aiohttp).
- `worker`: reads the stream and feeds each update to python-telegram-bot's Application.
- `run`: the `web`, `worker` and single-process webhook modes.

What polling serves too lives beside what it serves: `bot.db.migrations` (one process migrates
at a time) and `bot.stores.progress` (which parts of an answer were already sent).
"""
