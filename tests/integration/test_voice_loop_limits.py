"""The voice loop at its limits: first words at once, CJK speech while streaming, one chat action
per chat, drafts dropped under flood control. Behaviours only; bench/voice_loop.py times them."""

from __future__ import annotations

from bot.i18n import t
from tests.conftest import sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.openai_replies import pieces

USER = 5005
GROUP = -1005005005005


async def test_the_first_words_are_not_held_back_by_the_draft_interval(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with("hello there", "english")
    answer = "One two three four five six seven eight nine ten."
    openai_api.reply_with(answer)
    await start_bot(make_settings(stream_edit_interval_seconds=600))
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    text, _voice = await bot_api.wait_for_messages(USER, 2, timeout=30)
    heard = t("heard", "en", text="hello there")
    # The transcript, then at once the first words, although the interval is ten minutes.
    assert bot_api.drafts(USER) == [heard, f"{heard}\n\n{pieces(answer)[0]}"]
    assert text.text == f"{heard}\n\n{answer}"


async def test_chinese_sentences_are_spoken_while_the_answer_still_streams(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with("明天天气怎么样", "chinese")
    openai_api.reply_with(
        "好的。明天天气很好，阳光明媚，气温适中。晚上会有一点凉，请带一件外套。祝你愉快！"
    )
    openai_api.chunk_delay = 0.5  # the rest of the answer streams for seconds after 好的。
    await start_bot(
        make_settings(tts_backend="openai", tts_model="gpt-4o-mini-tts", tts_fallbacks=())
    )
    bot_api.send_voice(USER, sample("zh_1.ogg"), duration=6, language_code="zh")

    def first_sentence_spoken() -> bool:
        return any(r.json.get("input") == "好的。" for r in openai_api.speech_requests())

    await openai_api.wait_for(first_sentence_spoken, timeout=30)
    # No space follows 。, yet the sentence went to speech before the answer was complete.
    assert bot_api.calls_to("sendMessage") == []
    await bot_api.wait_for_messages(USER, 2, timeout=30)
    assert [m.kind for m in bot_api.chat_messages(USER)] == ["text", "voice"]


async def test_people_waiting_in_one_group_share_one_chat_action(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    members = [6001, 6002, 6003]
    openai_api.delay_next("/chat/completions", 3.0, times=len(members))
    await start_bot(make_settings())
    for member in members:
        bot_api.send_text(
            member, f"@voice_test_bot question {member}", chat_id=GROUP, chat_type="supergroup"
        )
    await openai_api.wait_for(lambda: len(openai_api.chat_requests()) == len(members))
    # Everyone is waiting for the model now: the group sees one "typing", not three.
    assert bot_api.chat_actions(GROUP) == ["typing"]
    await bot_api.wait_for_messages(GROUP, len(members), timeout=60)


async def test_a_draft_under_flood_control_is_dropped_and_the_answer_still_arrives(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with("hello there", "english")
    bot_api.fail_next("sendMessageDraft", status=429, retry_after=1)
    services = await start_bot(make_settings())
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    text, _voice = await bot_api.wait_for_messages(USER, 2, timeout=30)
    heard = t("heard", "en", text="hello there")
    draft_texts = [c.params.get("text") for c in bot_api.calls_to("sendMessageDraft")]
    assert draft_texts.count(heard) == 1  # refused once, never retried
    assert text.text.startswith(heard)
    exported = services.metrics.render().decode()
    assert 'telegram_calls_total{method="sendMessageDraft",outcome="flood"} 1.0' in exported
    assert 'telegram_calls_total{method="sendMessage",outcome="sent"}' in exported
    assert "event_loop_lag_seconds" in exported


async def test_a_streamed_group_answer_fits_the_groups_budget(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    answer = " ".join(f"word{n}" for n in range(40)) + "."
    openai_api.reply_with(answer)  # about 30 deltas
    await start_bot(make_settings(stream_edit_interval_seconds=0.05))
    bot_api.send_text(6001, "@voice_test_bot tell me more", chat_id=GROUP, chat_type="supergroup")
    await bot_api.wait_for(
        lambda: any(m.text == answer for m in bot_api.chat_messages(GROUP)), timeout=30
    )
    # A group gets ~20 messages a minute: the first words, at most an edit every 3 s, and the
    # final text, never an edit per delta.
    calls = [c for c in bot_api.calls if c.method in ("sendMessage", "editMessageText")]
    assert len(calls) <= 3
    assert len(pieces(answer)) > 20
