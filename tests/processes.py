"""Running the bot as a child process: `python -m bot` with a clean environment."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOT_PREFIXES = ("TELEGRAM_", "OPENAI_")


def bot_env(*, without: tuple[str, ...] = (), **overrides: str) -> dict[str, str]:
    """The environment for `python -m bot`: ours without TELEGRAM_/OPENAI_ variables (nor
    those starting with any prefix in `without`), PYTHONPATH at the repository root, then
    the overrides."""
    prefixes = BOT_PREFIXES + without
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, "PYTHONPATH": str(ROOT), **overrides}
