"""Command line: `python -m bot` runs the bot; `migrate` and `talk` help operators."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings
from bot.errors import BotError
from bot.logs import setup_logging

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (the default)")
    commands.add_parser("web", help="webhook mode: only receive updates and store them")
    commands.add_parser("worker", help="webhook mode: only answer stored updates")
    commands.add_parser("migrate", help="apply database migrations and exit")
    talk = commands.add_parser(
        "talk", help="run the voice pipeline on a local file, without Telegram"
    )
    talk.add_argument("file", nargs="?", type=Path, help="an audio file (OGG, MP3, WAV, ...)")
    talk.add_argument("--text", help="a typed message instead of a file")
    talk.add_argument("--out", type=Path, help="where to write the spoken answer (.ogg)")
    talk.add_argument("--language", help="your language, as Telegram would report it (e.g. ru)")
    args = parser.parse_args(argv)

    # The console assistant never talks to Telegram, so it needs no token.
    settings = load_settings(
        **({"telegram_bot_token": "unused"} if _talk_without_token(args) else {})
    )
    secrets = [settings.telegram_bot_token.get_secret_value()]
    if settings.openai_api_key:
        secrets.append(settings.openai_api_key.get_secret_value())
    if settings.vault_key:
        secrets.append(settings.vault_key.get_secret_value())
    setup_logging(
        settings.log_level,
        secrets=secrets,
        log_format=settings.log_format,
        own_addresses=own_addresses(settings),
    )
    try:
        if args.command == "migrate":
            from bot.db.migrations import migrate_exclusively_blocking

            migrate_exclusively_blocking(settings.database_url)
            print("database is at the latest migration")
            return 0
        mode = _webhook_mode(args.command, settings)
        if mode is not None:
            _require_webhook_settings(settings, mode)
        if mode != "web":  # the receiver never calls OpenAI
            _require_openai_key(settings)
        if args.command == "talk":
            from bot.talk import talk as run_talk

            if not args.file and not args.text:
                parser.error("talk needs a FILE or --text")
            return asyncio.run(run_talk(settings, args.file, args.text, args.out, args.language))
        return run_loop(settings.event_loop, _run(settings, mode))
    except BotError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run_loop(choice: str, main: Coroutine[Any, Any, int]) -> int:
    """Run `main` on EVENT_LOOP's loop; uvloop where it is installed, else asyncio's own.

    uvloop's transports and selector cost the bot less CPU per answer (see README, Performance).
    """
    if choice == "uvloop":
        try:
            import uvloop
        except ImportError:  # not built for this platform: asyncio's loop serves as well
            log.warning("EVENT_LOOP=uvloop but uvloop is not installed; using asyncio's loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def own_addresses(settings: Settings) -> list[str | None]:
    """The services the bot itself talks to, whose hosts the logs need not hide."""
    return [
        settings.telegram_api_url,
        settings.openai_base_url,
        settings.redis_url,
        settings.database_url,
        settings.webhook_url,
    ]


def _talk_without_token(args: argparse.Namespace) -> bool:
    import os

    return args.command == "talk" and not os.environ.get("TELEGRAM_BOT_TOKEN")


def _require_openai_key(settings: Settings) -> None:
    if settings.openai_api_key is None:
        print(
            "error: OPENAI_API_KEY is not set; put it in the environment or in .env",
            file=sys.stderr,
        )
        raise SystemExit(2)


def _webhook_mode(command: str | None, settings: Settings) -> str | None:
    """The webhook mode to run (web, worker, or single: both in one process); None: polling."""
    if command in ("web", "worker"):
        return command
    return "single" if settings.webhook_url else None


def _require_webhook_settings(settings: Settings, mode: str) -> None:
    from bot.durable.modes import mode_problem

    problem = mode_problem(settings, mode)
    if problem:
        print(problem, file=sys.stderr)
        raise SystemExit(2)


async def _run(settings: Settings, mode: str | None = None) -> int:
    from telegram.error import InvalidToken

    from bot.app import run_bot

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        if mode is None:
            await run_bot(settings, stop)
            return 0
        from bot.durable import run  # aiohttp's web server (~0.1 s): the webhook modes only

        run.exit_within(stop)
        modes = {"web": run.run_web, "worker": run.run_worker, "single": run.run_single}
        await modes[mode](settings, stop)
    except InvalidToken:
        # The library's own message quotes the token: name the variable instead.
        print(
            "error: TELEGRAM_BOT_TOKEN was rejected by Telegram; "
            "get the bot's token from @BotFather",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
