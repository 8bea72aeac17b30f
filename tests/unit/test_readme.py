"""The README is true to the code: its settings, layout, paths and walk-throughs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BOT = ROOT / "bot"


def section(title: str) -> str:
    """The text of the README's `## title` section."""
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def table_rows(text: str) -> list[list[str]]:
    """The cells of each body row of the Markdown tables in `text`."""
    rows = [line.strip().strip("|").split(" | ") for line in text.splitlines()]
    return [
        [cell.strip() for cell in cells]
        for cells, line in zip(rows, text.splitlines(), strict=True)
        if line.startswith("| ") and not line.startswith("| ---")
    ][1:]  # the header


def documented_settings() -> list[str]:
    """Every variable the Configuration table names, in its first column."""
    names = []
    for cells in table_rows(section("Configuration")):
        names += [name.strip() for name in cells[0].split(",")]
    return names


def test_every_setting_is_a_row_of_the_configuration_table() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert sorted(fields - set(documented_settings())) == []


def test_the_configuration_table_names_only_settings() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    names = documented_settings()
    assert [name for name in names if name not in fields] == []
    assert len(names) == len(set(names)), "a setting has two rows"


def layout() -> str:
    """The code block of the Layout section."""
    return section("Layout").split("```", 2)[1]


@pytest.mark.parametrize(
    "path",
    sorted(p for p in BOT.rglob("*.py") if p.name != "__init__.py"),
    ids=lambda p: str(p.relative_to(BOT)),
)
def test_the_layout_names_every_module(path: Path) -> None:
    name = path.name if path.parent == BOT else path.stem
    assert re.search(rf"(?<![\w.]){re.escape(name)}\b", layout()), name


@pytest.mark.parametrize(
    "package", sorted(p.parent.name for p in BOT.glob("*/__init__.py")), ids=str
)
def test_the_layout_names_every_package(package: str) -> None:
    assert f"  {package}/ " in layout()


@pytest.mark.parametrize(
    "path",
    sorted(
        set(re.findall(r"`((?:bot|tests|bench|deploy|migrations|scripts|\.ci)/[^`\s]*)`", README))
    ),
)
def test_every_path_the_readme_names_exists(path: str) -> None:
    assert list(ROOT.glob(path.rstrip("/"))), path


def quota_walkthrough() -> list[tuple[str, list[list[Path]], list[str]]]:
    """Each row of "Adding a quota kind": its file patterns (each matched to files), and the
    Python names it says are there."""
    rows = []
    for cells in table_rows(section("Adding a quota kind")):
        patterns = re.findall(r"`([^`]+)`", cells[0])
        matched = [sorted(ROOT.glob(pattern)) for pattern in patterns]
        rows.append((", ".join(patterns), matched, re.findall(r"`([A-Za-z_]\w*)`", cells[1])))
    return rows


def holds(path: Path, name: str) -> bool:
    """Whether the file at `path` names `name` (as a whole word)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


@pytest.mark.parametrize(
    ("matched", "names"),
    [pytest.param(matched, names, id=label) for label, matched, names in quota_walkthrough()],
)
def test_every_name_in_the_quota_kind_walkthrough_is_in_its_file(
    matched: list[list[Path]], names: list[str]
) -> None:
    assert all(matched), "every file the row names exists"
    # A name is in every file of one of the row's patterns (each of the five language tables).
    missing = [n for n in names if not any(all(holds(p, n) for p in paths) for paths in matched)]
    assert missing == []


def test_the_quota_walkthrough_reaches_the_five_language_tables() -> None:
    [[i18n]] = [matched for label, matched, _ in quota_walkthrough() if "i18n" in label]
    assert sorted(p.stem for p in i18n) == ["de", "en", "es", "ru", "zh"]


def backend_snippets() -> list[str]:
    """The Python blocks of "Adding a backend"."""
    return re.findall(r"```python\n(.*?)```", section("Adding a backend"), flags=re.DOTALL)


def test_the_backend_walkthroughs_file_is_the_piper_file_shortened() -> None:
    piper = (BOT / "tts" / "piper.py").read_text(encoding="utf-8")
    normalised = {" ".join(line.split()) for line in piper.splitlines()}
    declarations = (
        "from ",
        "import ",
        "with ",
        "class ",
        "name =",
        "offline =",
        "languages =",
        "async def ",
        "return ",
    )
    lines = [" ".join(line.split("  #")[0].split()) for line in backend_snippets()[0].splitlines()]
    shown = [line for line in lines if line.startswith(declarations)]
    assert len(shown) >= 8, "the snippet still shows the imports, the class and its method"
    assert [line for line in shown if line not in normalised] == []


def test_the_backend_walkthroughs_rows_are_rows_of_the_table() -> None:
    table = (BOT / "tts" / "__init__.py").read_text(encoding="utf-8")
    assert backend_snippets()[1].strip() in table
    inline = re.findall(r"`(Backend\([^`]+\))`", section("Adding a backend"))
    assert inline and all(row in table for row in inline)
