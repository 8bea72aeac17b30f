"""Reading aloud with a Realtime model: which models, what is asked, and did it read it all."""

from __future__ import annotations

import pytest

from bot.core.readaloud import differing_words, is_realtime_model, reasons, spoken_words
from bot.tts.realtime_pool import response_request, session_config


@pytest.mark.parametrize(
    ("model", "realtime"),
    [
        pytest.param("gpt-realtime-2.1-mini", True, id="the default reads aloud in realtime"),
        pytest.param("gpt-realtime", True, id="the first GA realtime model"),
        pytest.param("gpt-4o-mini-realtime-preview", True, id="a preview realtime model"),
        pytest.param("GPT-Realtime-Mini", True, id="names are compared without case"),
        pytest.param("gpt-4o-mini-tts", False, id="the speech endpoint's model"),
        pytest.param("tts-1", False, id="the oldest speech model"),
        pytest.param("kokoro", False, id="a compatible server's own voice"),
    ],
)
def test_is_realtime_model(model: str, realtime: bool) -> None:
    assert is_realtime_model(model) is realtime


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        pytest.param("gpt-realtime-2.1-mini", True, id="the 2.x line reasons"),
        pytest.param("gpt-realtime-2", True, id="gpt-realtime-2 reasons"),
        pytest.param("gpt-realtime-mini", False, id="the first mini does not"),
        pytest.param("gpt-realtime-1.5", False, id="1.5 does not"),
    ],
)
def test_reasoning_models_are_the_2_line(model: str, reasoning: bool) -> None:
    assert reasons(model) is reasoning


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("Hello, World!", ["hello", "world"], id="case and punctuation go"),
        pytest.param("It's 20°C.", ["it", "s", "20", "c"], id="marks split words"),
        pytest.param("你好，世界。", ["你", "好", "世", "界"], id="each Chinese character a word"),
        pytest.param("第3个问题", ["第", "3", "个", "问", "题"], id="a number inside Chinese"),
        pytest.param("ＡＢＣ", ["abc"], id="full-width letters are letters"),
        pytest.param("Straße", ["strasse"], id="case folding, not just lower case"),
    ],
)
def test_spoken_words(text: str, words: list[str]) -> None:
    assert spoken_words(text) == words


@pytest.mark.parametrize(
    ("text", "transcript", "count"),
    [
        pytest.param("Take a hat with you.", "take a hat with you", 0, id="read as written"),
        pytest.param("Take a hat with you.", "Take a hat.", 2, id="two words left out"),
        pytest.param("Take a hat.", "Sure! Take a hat.", 1, id="a word added"),
        pytest.param("Take a hat.", "Take a cap.", 1, id="a word changed"),
        pytest.param("Take a hat.", "", 3, id="nothing said"),
        pytest.param("明天天气很好。", "明天天气很好", 0, id="Chinese read as written"),
        pytest.param("明天天气很好。", "明天 天气 不好", 1, id="Chinese spaced and one changed"),
        pytest.param("It is 20 degrees.", "It is twenty degrees.", 1, id="a number said in words"),
    ],
)
def test_differing_words(text: str, transcript: str, count: int) -> None:
    assert differing_words(text, transcript) == count


def test_a_session_reads_aloud_in_pcm_with_its_voice_and_never_listens() -> None:
    config = session_config("gpt-realtime-2.1-mini", "marin")
    assert config["output_modalities"] == ["audio"]
    assert config["audio"] == {
        "input": {"turn_detection": None},
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"},
    }
    assert "word for word" in config["instructions"]
    assert config["reasoning"] == {"effort": "minimal"}


def test_a_model_that_does_not_reason_is_given_no_reasoning_effort() -> None:
    assert "reasoning" not in session_config("gpt-realtime-mini", "alloy")


def test_each_sentence_is_an_out_of_band_audio_response_reading_the_text() -> None:
    assert response_request("Take a hat.") == {
        "conversation": "none",
        "output_modalities": ["audio"],
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Take a hat."}],
            }
        ],
    }
