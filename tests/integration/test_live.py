"""Live voice over the WebSocket, against a real `python -m bot` process and the emulators."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.cluster import BotProcess, Cluster, metric, metrics_of
from tests.emulators import BotApiEmulator, OpenAIEmulator
from tests.live import connect, init_data, pcm_of

QUESTION = "What is the capital of France?"
ANSWER = (
    "Paris is the capital of France. It stands on the Seine. About two million people live there."
)
LONG_ANSWER = " ".join(f"This is sentence number {n} of a long answer." for n in range(1, 13))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def start_live_bot(cluster: Cluster, **env: str) -> tuple[BotProcess, str]:
    """`python -m bot` in polling mode with PUBLIC_URL: it listens on PORT for the page."""
    root = f"http://127.0.0.1:{cluster.web_port}"
    (bot,) = await cluster.start_all("run", WEBHOOK_URL="", PUBLIC_URL=root, **env)
    return bot, root


async def wait_metric(bot: BotProcess, name: str, value: float, timeout: float = 30) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while (seen := metric(await metrics_of(bot), name)) != value:
        assert time.monotonic() < deadline, f"{name} stayed {seen}, expected {value}"
        await asyncio.sleep(0.1)


async def test_a_spoken_question_gets_its_transcript_a_streamed_answer_and_speech(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession
) -> None:
    openai_api.transcribe_with(QUESTION)
    openai_api.reply_with(ANSWER)
    bot, root = await start_live_bot(cluster)
    client = await connect(http, root, init_data(cluster.bot_api.token, 4101, language="de"))
    assert client.of_type("ready")[0]["language"] == "de"
    await client.speak(pcm_of("en_1.ogg"))
    await client.wait_for("speech_end")
    kinds = [m["type"] for m in client.messages]
    assert client.of_type("transcript")[-1] == {
        "type": "transcript",
        "text": QUESTION,
        "final": True,
        "at": client.of_type("transcript")[-1]["at"],
    }
    deltas = [m["text"] for m in client.of_type("answer")]
    assert len(deltas) > 1, "the answer streams"
    assert "".join(deltas) == ANSWER == client.of_type("answer_end")[0]["text"]
    assert kinds.index("transcript") < kinds.index("answer") < kinds.index("answer_end")
    assert kinds.index("audio") < kinds.index("speech_end") == len(kinds) - 1
    seconds = len(client.audio) / (2 * 24_000)
    assert len(client.audio) % 2 == 0 and seconds > 3, "24 kHz 16-bit speech of three sentences"
    page = await metrics_of(bot)
    assert metric(page, "live_utterances_total") == 1
    assert metric(page, "live_first_audio_seconds_count") == 1
    await client.close()


async def test_what_was_said_live_is_remembered_in_the_telegram_chat(
    cluster: Cluster,
    bot_api: BotApiEmulator,
    openai_api: OpenAIEmulator,
    http: aiohttp.ClientSession,
) -> None:
    openai_api.transcribe_with("My favourite colour is teal.")
    openai_api.reply_with("Teal is a lovely colour.")
    _, root = await start_live_bot(cluster)
    client = await connect(http, root, init_data(bot_api.token, 4102))
    await client.speak(pcm_of("en_1.ogg"))
    await client.wait_for("speech_end")
    await client.close()
    bot_api.send_text(4102, "Which colour did I name?")
    await bot_api.wait_for(lambda: len(openai_api.chat_requests()) == 2, 60)
    messages = openai_api.chat_requests()[-1].json["messages"]
    said = [m["content"] for m in messages]
    assert "My favourite colour is teal." in said and "Teal is a lovely colour." in said


@pytest.mark.parametrize(
    "hello",
    [
        pytest.param(lambda token: init_data("999:forged-token", 4103), id="forged"),
        pytest.param(lambda token: init_data(token, 4103).replace("4103", "4104", 1), id="altered"),
        pytest.param(
            lambda token: init_data(token, 4103, auth_date=time.time() - 2 * 86400), id="stale"
        ),
        pytest.param(lambda token: "", id="missing"),
    ],
)
async def test_an_init_data_that_is_not_genuine_and_fresh_is_closed_with_4401(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession, hello: object
) -> None:
    bot, root = await start_live_bot(cluster)
    client = await connect(http, root, hello(cluster.bot_api.token), ready=False)  # type: ignore[operator]
    for _ in range(5):  # audio right behind the hello must not be heard
        await client.ws.send_bytes(b"\0\1" * 320)
    assert await client.wait_closed() == 4401
    assert [m["type"] for m in client.messages] == ["error"]
    assert client.messages[0]["code"] == "auth"
    assert not openai_api.transcription_requests()
    page = await metrics_of(bot)
    assert metric(page, "live_sessions_open") == 0
    assert 'live_refusals_total{code="auth"} 1.0' in page


async def test_a_user_not_allowed_is_closed_with_4403(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    _, root = await start_live_bot(cluster, ALLOWED_USER_IDS="1")
    client = await connect(http, root, init_data(cluster.bot_api.token, 4105), ready=False)
    assert await client.wait_closed() == 4403
    assert client.messages[0]["code"] == "blocked"


async def test_speaking_over_the_answer_stops_it(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession
) -> None:
    openai_api.transcribe_with(QUESTION)
    openai_api.reply_with(LONG_ANSWER)
    bot, root = await start_live_bot(cluster)
    client = await connect(http, root, init_data(cluster.bot_api.token, 4106))
    await client.speak(pcm_of("en_1.ogg", silence_after=0.0))
    await client.speak(b"\0" * 32000)  # the pause that ends the question
    await client.wait_for("audio")
    await client.speak(pcm_of("en_2.ogg"))  # the user talks over the answer
    interrupted = await client.wait_for("interrupted")
    kinds = [m["type"] for m in client.messages]
    assert "speech_end" not in kinds[: kinds.index("interrupted")]
    await client.wait_for("transcript", 2, final=True)
    assert metric(await metrics_of(bot), "live_barge_ins_total") >= 1
    assert interrupted


async def test_a_quota_reached_mid_session_is_refused_with_quota(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession
) -> None:
    openai_api.transcribe_with(QUESTION)
    openai_api.reply_with(ANSWER)
    _, root = await start_live_bot(cluster, DAILY_VOICE_SECONDS_LIMIT="3")
    client = await connect(http, root, init_data(cluster.bot_api.token, 4107))
    await client.speak(pcm_of("en_1.ogg"))
    await client.wait_for("speech_end")
    await client.speak(pcm_of("en_2.ogg"))
    error = await client.wait_for("error")
    assert error["code"] == "quota"
    assert "limit" in error["message"]
    assert len(openai_api.transcription_requests()) == 1
    assert not client.closed.is_set(), "the session stays open"


async def test_a_second_session_of_a_user_ends_the_first(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    bot, root = await start_live_bot(cluster)
    first = await connect(http, root, init_data(cluster.bot_api.token, 4108))
    second = await connect(http, root, init_data(cluster.bot_api.token, 4108))
    assert await first.wait_closed() == 4409
    assert not second.closed.is_set()
    await wait_metric(bot, "live_sessions_open", 1)


async def test_more_sessions_than_live_max_sessions_get_busy(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    _, root = await start_live_bot(cluster, LIVE_MAX_SESSIONS="1")
    await connect(http, root, init_data(cluster.bot_api.token, 4109))
    other = await connect(http, root, init_data(cluster.bot_api.token, 4110), ready=False)
    await other.wait_closed()
    assert other.of_type("error")[0]["code"] == "busy"


async def test_garbage_frames_get_input_and_repeated_close_the_session(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    _, root = await start_live_bot(cluster)
    client = await connect(http, root, init_data(cluster.bot_api.token, 4111))
    await client.ws.send_str("not json")
    assert (await client.wait_for("error"))["code"] == "input"
    await client.send({"type": "dance"})
    await client.ws.send_bytes(b"\0" * (64 * 1024 + 2))  # over 64 KiB
    assert await client.wait_closed() == 4400
    assert [m["code"] for m in client.of_type("error")] == ["input"] * 3


async def test_audio_faster_than_real_time_gets_input(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession
) -> None:
    _, root = await start_live_bot(cluster)
    client = await connect(http, root, init_data(cluster.bot_api.token, 4112))
    pcm = pcm_of("en_1.ogg")
    for offset in range(0, len(pcm), 32000):  # a second of audio per frame, all at once
        await client.ws.send_bytes(pcm[offset : offset + 32000])
    assert (await client.wait_for("error"))["code"] == "input"


async def test_a_dropped_connection_mid_answer_frees_the_session(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession
) -> None:
    openai_api.transcribe_with(QUESTION)
    openai_api.reply_with(ANSWER)
    openai_api.hold("/chat/completions")
    bot, root = await start_live_bot(cluster)
    client = await connect(http, root, init_data(cluster.bot_api.token, 4113))
    await client.speak(pcm_of("en_1.ogg"))
    await client.wait_for("transcript")
    await openai_api.wait_for(lambda: openai_api.held == 1, 30)
    await wait_metric(bot, "live_sessions_open", 1)
    await client.close()
    await wait_metric(bot, "live_sessions_open", 0)
    openai_api.release("/chat/completions")
    # The user's lock went with the turn: a new session is answered at once.
    again = await connect(http, root, init_data(cluster.bot_api.token, 4113))
    await again.speak(pcm_of("en_1.ogg"))
    await again.wait_for("speech_end")


async def test_in_webhook_mode_the_page_and_its_socket_share_the_webhooks_server(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession
) -> None:
    openai_api.transcribe_with(QUESTION)
    openai_api.reply_with(ANSWER)
    root = f"http://127.0.0.1:{cluster.web_port}"
    await cluster.start_all("run", PUBLIC_URL=root)
    assets = [("/live", "text/html"), ("/live/page.js", "text/javascript")]
    for path, kind in [*assets, ("/live/page.css", "text/css")]:
        async with http.get(root + path) as response:
            assert response.status == 200 and response.content_type == kind, path
    client = await connect(http, root, init_data(cluster.bot_api.token, 4114))
    await client.speak(pcm_of("en_1.ogg"))
    assert (await client.wait_for("answer_end"))["text"] == ANSWER
    await client.wait_for("speech_end")
    assert not cluster.bot_api.calls_to("getUpdates"), "webhook mode: no polling"


async def test_an_answer_cut_short_is_remembered_as_far_as_it_went(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession
) -> None:
    openai_api.transcribe_with(QUESTION)
    openai_api.reply_with(ANSWER)
    openai_api.chunk_delay = 2.0  # the answer takes ~24 s to write
    _, root = await start_live_bot(cluster)
    client = await connect(http, root, init_data(cluster.bot_api.token, 4115))
    await client.speak(pcm_of("en_1.ogg"))
    await client.wait_for("answer")
    await client.speak(pcm_of("en_2.ogg"))  # the user goes on before the answer is done
    await client.wait_for("transcript", 2, final=True)
    await openai_api.wait_for(lambda: len(openai_api.chat_requests()) == 2, 60)
    assert not client.of_type("answer_end"), "the first answer was never finished"
    # The second utterance's first transcript, partial or final, ends what the first answer said.
    finals = client.of_type("transcript", final=True)
    after_first = client.messages.index(finals[0]) + 1
    second = next(
        i for i, m in enumerate(client.messages) if i >= after_first and m["type"] == "transcript"
    )
    first_words = "".join(m["text"] for m in client.messages[:second] if m["type"] == "answer")
    history = openai_api.chat_requests()[-1].json["messages"]
    said = [m["content"] for m in history if m["role"] == "assistant"]
    assert said == [first_words + " …"]
    assert ANSWER.startswith(first_words)


async def test_the_transcript_grows_on_the_page_while_the_model_streams_it(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession
) -> None:
    openai_api.transcribe_with(QUESTION)
    openai_api.reply_with(ANSWER)
    openai_api.hold("/audio/transcriptions#stream")  # after the first word, until released
    _, root = await start_live_bot(cluster)
    client = await connect(http, root, init_data(cluster.bot_api.token, 4118))
    await client.speak(pcm_of("en_1.ogg"))
    partial = await client.wait_for("transcript", final=False)
    assert partial["text"] and QUESTION.startswith(partial["text"])
    assert partial["text"] != QUESTION and not client.of_type("transcript", final=True)
    openai_api.release("/audio/transcriptions#stream")
    assert (await client.wait_for("transcript", final=True))["text"] == QUESTION
    assert (await client.wait_for("answer_end"))["text"] == ANSWER


async def test_a_live_answer_is_spoken_in_the_users_own_voice_and_speed(
    cluster: Cluster, openai_api: OpenAIEmulator, http: aiohttp.ClientSession
) -> None:
    import redis.asyncio as aioredis

    openai_api.transcribe_with(QUESTION)
    openai_api.reply_with(ANSWER)
    user = 4119
    store = aioredis.Redis.from_url(cluster.redis_url)
    # What the /voice menu saves: nova at 1.25x.
    await store.hset(
        f"{cluster.prefix}prefs:{user}", mapping={"tts_voice": "nova", "speed": "1.25"}
    )
    await store.aclose()
    _, root = await start_live_bot(
        cluster, TTS_BACKEND="openai", TTS_MODEL="gpt-4o-mini-tts", TTS_FALLBACKS=""
    )
    client = await connect(http, root, init_data(cluster.bot_api.token, user))
    await client.speak(pcm_of("en_1.ogg"))
    await client.wait_for("speech_end")
    spoken = openai_api.speech_requests()
    assert spoken and all(r.json["voice"] == "nova" for r in spoken)
    assert all(r.json["speed"] == 1.25 for r in spoken)


async def test_bye_ends_the_session_and_live_max_seconds_ends_a_long_one(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    bot, root = await start_live_bot(cluster, LIVE_MAX_SECONDS="10")
    polite = await connect(http, root, init_data(cluster.bot_api.token, 4116))
    await polite.send({"type": "bye"})
    assert await polite.wait_closed() == 1000
    lingering = await connect(http, root, init_data(cluster.bot_api.token, 4117))
    assert await lingering.wait_closed(timeout=60) == 4408
    await wait_metric(bot, "live_sessions_open", 0)
