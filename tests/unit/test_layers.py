"""Which module may import which: the Telegram shell never reaches back to the composition root."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, also under TYPE_CHECKING and inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((BOT / "tg").glob("*.py")), ids=lambda p: p.name)
def test_the_telegram_shell_never_imports_the_composition_root(path: Path) -> None:
    assert "bot.app" not in imported_modules(path)


def test_admin_commands_share_reply_helpers_with_the_handlers_not_borrow_them() -> None:
    assert not {"bot.tg.handlers", "bot.tg.handlers.reply"} & imported_modules(
        BOT / "tg" / "admin.py"
    )
