"""Durable processing on several machines: a Redis Stream of updates between web and workers.

- `queue`: the stream, its consumer group and the few atomic steps (store, finish, park).
- `progress`: which parts of one update's answer were already sent (a takeover resumes).
- `receiver`: the webhook endpoint and /healthz (aiohttp).
- `worker`: reads the stream and feeds each update to python-telegram-bot's Application.
- `polling`: polling mode's getUpdates loop, which stores each update before confirming it.
- `migrations`: one process migrates at a time.
- `run`: the `web`, `worker` and single-process webhook modes.
"""
