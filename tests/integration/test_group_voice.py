"""Voice notes in groups: transcripts on request, a spoken call, questions about a note."""

from __future__ import annotations

from bot.i18n import t
from tests.conftest import sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.openai_replies import CANNED
from tests.turns import turns_ended

GROUP = -100555
MEMBER, ADMIN, BOT_ADMIN = 801, 802, 803
SAID = "Let's meet at the station at nine."
IN_GROUP = {"chat_id": GROUP, "chat_type": "supergroup"}


async def say_in_group(bot_api: BotApiEmulator, user_id: int, text: str) -> str:
    """A group member's command; the bot's reply text."""
    before = len(bot_api.chat_messages(GROUP))
    bot_api.send_text(user_id, text, **IN_GROUP)
    replies = await bot_api.wait_for_messages(GROUP, before + 1, timeout=30)
    return replies[-1].text or ""


async def test_transcribe_on_is_refused_to_a_member_and_accepted_from_a_group_admin(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    bot_api.set_member_status(GROUP, ADMIN, "administrator")
    await start_bot(make_settings())
    assert await say_in_group(bot_api, MEMBER, "/transcribe on") == t(
        "transcribe_admins_only", "en"
    )
    assert await say_in_group(bot_api, ADMIN, "/transcribe on") == t("transcribe_on", "en")
    asked = [(c.params["chat_id"], c.params["user_id"]) for c in bot_api.calls_to("getChatMember")]
    assert asked == [(GROUP, MEMBER), (GROUP, ADMIN)]


async def test_the_bots_own_admins_may_turn_transcripts_on_in_any_group(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings(admin_user_ids=frozenset({BOT_ADMIN})))
    assert await say_in_group(bot_api, BOT_ADMIN, "/transcribe on") == t("transcribe_on", "en")
    assert await say_in_group(bot_api, BOT_ADMIN, "/transcribe off") == t("transcribe_off", "en")


async def test_transcribe_in_a_private_chat_points_to_the_transcribe_mode(
    bot_api: BotApiEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    bot_api.send_text(MEMBER, "/transcribe on")
    [answer] = await bot_api.wait_for_messages(MEMBER, 1)
    assert answer.text == t("transcribe_groups_only", "en")


async def test_with_transcripts_on_every_voice_video_note_and_audio_gets_its_transcript_only(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(SAID, "english")
    bot_api.set_member_status(GROUP, ADMIN, "creator")
    services = await start_bot(make_settings())
    await say_in_group(bot_api, ADMIN, "/transcribe on")
    note = bot_api.send_voice(MEMBER, sample("en_1.ogg"), duration=6, **IN_GROUP, thread_id=7)
    [*_, transcript] = await bot_api.wait_for_messages(GROUP, 2, timeout=30)
    assert transcript.text == t("heard", "en", text=SAID)
    assert transcript.reply_to_message_id == note and transcript.thread_id == 7

    audio = sample("en_1.ogg")
    bot_api.send_video_note(MEMBER, audio, duration=6, **IN_GROUP)
    bot_api.send_audio(MEMBER, audio, duration=6, file_name="memo.ogg", **IN_GROUP)
    await bot_api.wait_for_messages(GROUP, 4, timeout=30)
    await turns_ended(bot_api, services)
    assert [m.text for m in bot_api.chat_messages(GROUP)[1:]] == [t("heard", "en", text=SAID)] * 3
    assert not openai_api.chat_requests(), "a transcript, not a chat answer"
    assert not bot_api.calls_to("setMessageReaction")


async def test_with_transcripts_off_an_uncalled_voice_note_gets_nothing_but_its_transcript_is_kept(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(SAID, "english")
    bot_api.set_member_status(GROUP, ADMIN, "administrator")
    services = await start_bot(make_settings())
    note = sample("en_1.ogg")
    file_id, _ = bot_api.add_file(note)
    bot_api.send_voice(MEMBER, file_id, duration=6, **IN_GROUP)
    await openai_api.wait_for(lambda: len(openai_api.transcription_requests()) == 1)
    await turns_ended(bot_api, services)
    assert not bot_api.chat_messages(GROUP)

    await say_in_group(bot_api, ADMIN, "/transcribe on")
    bot_api.send_voice(MEMBER, file_id, duration=6, **IN_GROUP)  # the same note, forwarded
    [_, transcript] = await bot_api.wait_for_messages(GROUP, 2, timeout=30)
    assert transcript.text == t("heard", "en", text=SAID)
    assert len(openai_api.transcription_requests()) == 1, "turning transcripts on cost nothing"


async def test_a_voice_note_that_starts_with_the_bots_name_is_answered_in_text_and_voice(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    question = "Voice Test Bot, what is the capital of France?"
    openai_api.transcribe_with(question, "english")
    await start_bot(make_settings())
    note = bot_api.send_voice(MEMBER, sample("en_1.ogg"), duration=6, **IN_GROUP)
    [voice] = await bot_api.wait_for_messages(GROUP, 1, kind="voice", timeout=30)
    [text] = bot_api.chat_messages(GROUP)[:1]
    assert text.text.startswith(t("heard", "en", text=question))
    assert CANNED["en"] in text.text
    assert voice.reply_to_message_id == note
    assert openai_api.chat_requests()[0].json["messages"][-1]["content"] == question


async def test_a_wake_word_from_the_settings_calls_the_bot_too(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with("Hey Jarvis, how far is the moon?", "english")
    await start_bot(make_settings(bot_wake_words=("Jarvis",)))
    bot_api.send_voice(MEMBER, sample("en_1.ogg"), duration=6, **IN_GROUP)
    await bot_api.wait_for_messages(GROUP, 1, kind="voice", timeout=30)
    assert len(openai_api.chat_requests()) == 1


async def test_replying_to_someones_voice_note_with_a_mention_asks_about_that_note(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(SAID, "english")
    services = await start_bot(make_settings())
    note = bot_api.send_voice(MEMBER, sample("en_1.ogg"), duration=6, **IN_GROUP)
    await openai_api.wait_for(lambda: len(openai_api.transcription_requests()) == 1)
    await turns_ended(bot_api, services)

    bot_api.send_text(ADMIN, "@voice_test_bot when do they meet?", **IN_GROUP, reply_to=note)
    [answer] = await bot_api.wait_for_messages(GROUP, 1, timeout=30)
    await turns_ended(bot_api, services)
    assert answer.text.startswith(t("heard", "en", text=SAID))
    asked = openai_api.chat_requests()[0].json["messages"][-1]["content"]
    assert "when do they meet?" in asked and SAID in asked
    assert len(openai_api.transcription_requests()) == 1, "the note's transcript was cached"


async def test_a_bare_mention_in_reply_to_a_voice_note_gets_its_transcript(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(SAID, "english")
    services = await start_bot(make_settings())
    note = bot_api.send_voice(MEMBER, sample("en_1.ogg"), duration=6, **IN_GROUP)
    await openai_api.wait_for(lambda: len(openai_api.transcription_requests()) == 1)
    bot_api.send_text(ADMIN, "@voice_test_bot", **IN_GROUP, reply_to=note)
    [answer] = await bot_api.wait_for_messages(GROUP, 1, timeout=30)
    await turns_ended(bot_api, services)
    assert answer.text == t("heard", "en", text=SAID)
    assert not openai_api.chat_requests()
