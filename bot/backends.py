"""What a backend declares it needs, and the small lazy table that builds the one chosen by name.

A stage (`bot.asr`, `bot.tts`) keeps one table: backend name → `Backend` row (where its class
lives, and the keyword arguments it takes from Settings). Only the chosen backend's module is
imported. The class says what it needs (`Needs`); the registry checks that before building it, so
a missing key, binary or package becomes one line naming what to set or install.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from bot.errors import BotError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.openai_client import OpenAIResources


@dataclass(frozen=True)
class Needs:
    """What a backend needs before it can be built.

    Args:
        openai_client: it takes the shared AsyncOpenAI client as its `client` argument.
        binaries: programs that must be on PATH.
        install: how to get the binaries, for the error message ("apt-get install espeak-ng").
    """

    openai_client: bool = False
    binaries: tuple[str, ...] = ()
    install: str = ""

    def missing(self, openai_client: OpenAIResources | None) -> str | None:
        """What is missing to build the backend here, or None when nothing is."""
        if self.openai_client and openai_client is None:
            return "OPENAI_API_KEY"
        absent = [binary for binary in self.binaries if shutil.which(binary) is None]
        if absent:
            hint = f": {self.install}" if self.install else ""
            return f"{', '.join(absent)} on PATH{hint}"
        return None


class Pluggable:
    """What every backend class declares; the registry reads it before building one."""

    name: str = "backend"
    needs: ClassVar[Needs] = Needs()
    # Works without the internet (a local model or program): no remote retries, no network.
    offline: ClassVar[bool] = False


class MissingPackage(BotError):
    """A backend's Python package is not installed; the message says what to pip-install."""


@contextlib.contextmanager
def requires_package(*packages: str) -> Iterator[None]:
    """Around a backend module's third-party imports: a missing one names what to pip-install."""
    try:
        yield
    except ModuleNotFoundError as error:
        if error.name and (error.name == "bot" or error.name.startswith("bot.")):
            raise  # our own module is missing: a bug, not an install step
        raise MissingPackage(f"pip install {' '.join(packages)}") from error


Options = Callable[["Settings"], dict[str, Any]]


def _no_options(settings: Settings) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Backend:
    """One row of a stage's table.

    Args:
        path: "module:Class", imported only when this backend is built.
        options: its keyword arguments, picked from Settings (never the whole object).
    """

    path: str
    options: Options = field(default=_no_options)

    def load(self) -> type[Pluggable]:
        """Import the module and return the class; MissingPackage when a package is absent."""
        module_name, _, class_name = self.path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and (error.name == "bot" or error.name.startswith("bot.")):
                raise
            # The module did not declare its package with requires_package: name the import.
            raise MissingPackage(
                f"the module {error.name}, which no installed package provides"
            ) from None
        cls: type[Pluggable] = getattr(module, class_name)
        return cls


def build(
    variable: str,
    name: str,
    table: Mapping[str, Backend],
    settings: Settings,
    openai_client: OpenAIResources | None,
) -> Any:
    """The backend `table[name]`, built with its options and what it declared it needs.

    Args:
        variable: the setting that named it ("TTS_BACKEND"), for the error message.
        name: the backend's name in `table`.
        table: the stage's rows.
        settings: where the options come from.
        openai_client: the shared client, for backends that need one.

    Raises:
        BotError: one line naming what to set or install when the backend cannot be built.
    """
    check_names(variable, (name,), table)
    row = table[name]
    try:
        cls = row.load()
    except MissingPackage as error:
        raise BotError(f"{variable}={name} needs a package: {error}") from None
    missing = cls.needs.missing(openai_client)
    if missing is not None:
        raise BotError(f"{variable}={name} needs {missing}")
    options = row.options(settings)
    if cls.needs.openai_client:
        options["client"] = openai_client
    return cls(**options)


def check_names(variable: str, names: Iterable[str], table: Mapping[str, Backend]) -> None:
    """Refuse a name that is no row of `table`, with one line listing the choices.

    Raises:
        BotError: "unknown TTS_BACKEND=festival; choose one of gtts, openai, ...".
    """
    unknown = [name for name in names if name not in table]
    if unknown:
        raise BotError(f"unknown {variable}={','.join(unknown)}; choose one of {', '.join(table)}")
