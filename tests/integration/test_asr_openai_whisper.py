"""The openai-whisper backend runs its real loading and decoding code on a tiny random checkpoint.

No weights can be downloaded here, so the checkpoint is made in the test: the same file layout
as OpenAI's (`dims` + `model_state_dict`), with the multilingual vocabulary and tiny layers.
Its output is noise; these tests check the plumbing, not accuracy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from whisper.model import ModelDimensions, Whisper

from bot.asr import make_transcriber
from bot.asr.openai_whisper import OpenAIWhisperTranscriber
from bot.audio_in import decode_to_wav
from bot.config import Settings

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised Whisper checkpoint of a few MB, saved the way OpenAI's are."""
    torch.manual_seed(0)
    dims = ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=32,
        n_audio_head=2,
        n_audio_layer=1,
        n_vocab=51865,  # the multilingual vocabulary, so language detection runs
        n_text_ctx=448,
        n_text_state=32,
        n_text_head=2,
        n_text_layer=1,
    )
    model = Whisper(dims)
    # Whisper leaves the decoder's positional embedding as torch.empty (real checkpoints fill it);
    # uninitialised memory can hold NaN, which once broke sampling in this test.
    torch.nn.init.normal_(model.decoder.positional_embedding, std=0.01)
    path = tmp_path_factory.mktemp("whisper") / "tiny-random.pt"
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def en_1_wav() -> bytes:
    """en_1.ogg as 16 kHz WAV."""
    return decode_to_wav((FIXTURES / "en_1.ogg").read_bytes()).wav


async def test_checkpoint_loads_and_transcribes_to_a_transcript(
    checkpoint: Path, en_1_wav: bytes
) -> None:
    transcriber = OpenAIWhisperTranscriber(model=str(checkpoint))
    transcript = await transcriber.transcribe(en_1_wav)
    assert isinstance(transcript.text, str)
    assert isinstance(transcript.language, str) and transcript.language.isalpha()
    assert 0.0 < transcript.language_probability <= 1.0
    assert transcript.duration == pytest.approx(5.9, abs=0.1)


async def test_a_forced_language_is_reported_with_certainty(
    checkpoint: Path, en_1_wav: bytes
) -> None:
    transcriber = OpenAIWhisperTranscriber(model=str(checkpoint))
    transcript = await transcriber.transcribe(en_1_wav, language="ru")
    assert (transcript.language, transcript.language_probability) == ("ru", 1.0)


async def test_settings_choose_the_openai_whisper_backend(
    checkpoint: Path, en_1_wav: bytes
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token="123:abc",
        asr_backend="openai-whisper",
        whisper_model=str(checkpoint),
    )
    transcriber = make_transcriber(settings, openai_client=None)
    assert transcriber.name == "openai-whisper" and transcriber.offline
    assert (await transcriber.transcribe(en_1_wav)).duration > 0
