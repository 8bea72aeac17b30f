"""The encoder's worker process: real processes, killed as the kernel would kill them."""

from __future__ import annotations

import os
import signal

import pytest

from bot.encoder_process import EncoderProcess
from bot.errors import ServiceError
from bot.voice_out import encode_pcm_clip
from tests.emulators.audio_tools import PCM_RATE, tone


async def test_speech_is_encoded_in_a_process_of_its_own() -> None:
    encoder = EncoderProcess("synthesis")
    try:
        worker = await encoder.run(os.getpid)
        clip = await encoder.run(encode_pcm_clip, tone(1.0, "pcm"), rate=PCM_RATE)
    finally:
        encoder.close()
    assert worker != os.getpid()
    assert clip[:4] == b"OggS" and b"OpusHead" in clip[:100]


async def test_a_killed_encoder_costs_one_retryable_failure_and_the_next_call_gets_a_new_one() -> (
    None
):
    encoder = EncoderProcess("synthesis")
    try:
        worker = await encoder.run(os.getpid)
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(ServiceError) as caught:
            await encoder.run(os.getpid)
        assert caught.value.stage == "synthesis" and caught.value.retryable
        assert await encoder.run(os.getpid) not in (worker, os.getpid())
    finally:
        encoder.close()
