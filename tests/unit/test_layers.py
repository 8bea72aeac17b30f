"""Which module may import which: no circles, and every arrow points inward.

Layers, outermost first: the shell (Telegram, the command line, the composition root, webhook
mode, live voice) → the assistant (the story of a turn) → adapters (speech in and out, the
model, audio, Redis, the database, and the vocabulary they share) → the pure core. Settings
are a leaf: they import nothing of the bot, so anyone may import them. Every import counts,
also those under TYPE_CHECKING and inside functions: a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"

# Outermost first; a module may import its own layer and the layers after it. A module is in
# the layer of the longest prefix that names it (a package names all its modules).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "shell",
        (
            "bot.__main__",
            "bot.app",
            "bot.services",
            "bot.talk",
            "bot.tg",
            "bot.durable",
            "bot.live",
        ),
    ),
    (
        "assistant",
        (
            "bot.assistant",
            "bot.assistant_settings",
            "bot.recording_turn",
            "bot.voice_notes",
            "bot.answering",
            "bot.speaking",
            "bot.listen_later",
            "bot.hearing",
            "bot.speech",
        ),
    ),
    (
        "adapters",
        (
            "bot.asr",
            "bot.tts",
            "bot.llm",
            "bot.audio_in",
            "bot.voice_out",
            "bot.encoder_process",
            "bot.pieces",
            "bot.tempo",
            "bot.lifecycle",
            "bot.tasks",
            "bot.stores",
            "bot.db",
            "bot.backends",
            "bot.openai_client",
            "bot.openai_errors",
            "bot.retry",
            "bot.metrics",
            "bot.logs",
            "bot.charts",
            "bot.i18n",
            "bot.errors",
            "bot.events",
            "bot.requests",
            "bot.privacy",
            "bot.usage_ledger",
            "bot.admission",
            "bot.remembering",
            "bot.turn_guard",
        ),
    ),
    ("core", ("bot.core",)),
)
# Import nothing of the bot; anyone may import them.
LEAVES = ("bot", "bot.config")
# Arrows up the layers that are known and too costly to turn now (at most one), with why.
ALLOWED_UPWARD: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    """`bot/tg/admin.py` → `bot.tg.admin`; a package's `__init__.py` is the package."""
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in BOT.rglob("*.py")}


def imported_names(path: Path) -> Iterator[str]:
    """Every dotted name `path` imports, also under TYPE_CHECKING and inside functions."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def imported_modules(path: Path) -> set[str]:
    """The modules of bot/ that `path` imports (a name is its longest prefix that is one)."""
    found = set()
    for name in imported_names(path):
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    found.discard(module_name(path))
    found.discard("bot")  # `from bot.x import y` names the package too; it holds a version only
    return found


GRAPH = {name: imported_modules(path) for name, path in MODULES.items()}


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the longest prefix naming `module`; None for a leaf or none."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def find_cycle() -> list[str] | None:
    """One circle of imports in bot/, as the modules along it, or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[module] = "done"
        return None

    for module in sorted(GRAPH):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_the_graph_sees_deferred_and_type_only_imports() -> None:
    # __main__ imports webhook mode inside a function; bot.backends names Settings for types only.
    assert "bot.config" in GRAPH["bot.backends"]
    assert "bot.durable.run" in GRAPH["bot.__main__"]


def test_no_import_circle_anywhere_in_the_bot() -> None:
    assert find_cycle() is None, " → ".join(find_cycle() or [])


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if m not in LEAVES and layer_of(m) is None] == []


def test_settings_import_nothing_of_the_bot() -> None:
    assert GRAPH["bot.config"] == set()


def test_the_core_imports_only_the_core() -> None:
    core = [m for m in MODULES if m.startswith("bot.core")]
    assert {(m, t) for m in core for t in GRAPH[m] if not t.startswith("bot.core")} == set()


def test_every_arrow_points_inward() -> None:
    upward = {
        (module, target)
        for module, targets in GRAPH.items()
        for target in targets
        if target not in LEAVES
        and (layer_of(module) or 0) > (layer_of(target) or 0)
        and module not in LEAVES
    }
    assert upward - ALLOWED_UPWARD == set()
    assert len(ALLOWED_UPWARD) <= 1, "turn the arrows, do not list them"


def test_an_arrow_up_the_layers_would_be_seen() -> None:
    assert layer_of("bot.stores.memory") > layer_of("bot.assistant")  # type: ignore[operator]
    assert layer_of("bot.core.text") > layer_of("bot.stores.memory")  # type: ignore[operator]
    assert layer_of("bot.tg.handlers") == 0


@pytest.mark.parametrize("path", sorted((BOT / "tg").glob("*.py")), ids=lambda p: p.name)
def test_the_telegram_shell_never_imports_the_composition_root(path: Path) -> None:
    assert "bot.app" not in imported_modules(path)


@pytest.mark.parametrize("module", [m for m in MODULES if m == "bot.app" or m.startswith("bot.tg")])
def test_polling_imports_nothing_of_webhook_mode(module: str) -> None:
    # What polling serves too lives in db/ and stores/ (migrations, answer progress), or is the
    # stream both modes keep their updates in (bot.durable.queue, bot.durable.polling); the
    # webhook server, its workers and their start-up stay out of a polling process.
    webhook_only = ("bot.durable.receiver", "bot.durable.worker", "bot.durable.run")
    assert {m for m in GRAPH[module] if m.startswith(webhook_only)} == set()


def test_reading_an_update_imports_nothing_that_replies() -> None:
    assert GRAPH["bot.tg.incoming"] & {"bot.tg.say", "bot.tg.replies", "bot.tg.handlers"} == set()


def test_admin_commands_share_reply_helpers_with_the_handlers_not_borrow_them() -> None:
    assert "bot.tg.handlers" not in imported_modules(BOT / "tg" / "admin.py")
