"""While a voice note is worked on, a reaction on it shows where the bot is: 👀 heard, ✍ writing."""

from __future__ import annotations

from bot.i18n import t
from tests.conftest import sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.turns import turns_ended

USER = 7007


def reactions_on(bot_api: BotApiEmulator, chat_id: int, message_id: int) -> list[list[str]]:
    """Every reaction list the bot set on one message, in order."""
    return [
        [r["emoji"] for r in call.params.get("reaction") or []]
        for call in bot_api.calls_to("setMessageReaction")
        if int(call.params["chat_id"]) == chat_id and int(call.params["message_id"]) == message_id
    ]


async def test_a_voice_note_shows_heard_then_writing_and_is_clear_once_answered(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings())
    note = bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    await bot_api.wait_for_messages(USER, 2, timeout=30)
    await turns_ended(bot_api, services)
    assert reactions_on(bot_api, USER, note) == [["👀"], ["✍"], []]
    assert bot_api.reactions_to(USER, note) == []
    assert "record_voice" in bot_api.chat_actions(USER), "beside the chat action, not instead"


async def test_a_voice_note_in_a_group_gets_the_reactions_too(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    services = await start_bot(make_settings())
    group = -100777
    bot_api.send_text(USER, "@voice_test_bot hello", chat_id=group, chat_type="supergroup")
    await bot_api.wait_for_messages(group, 1, timeout=30)
    await turns_ended(bot_api, services)
    note = bot_api.send_voice(
        USER,
        sample("en_1.ogg"),
        duration=6,
        chat_id=group,
        chat_type="supergroup",
        reply_to_bot=True,
    )
    await bot_api.wait_for_messages(group, 3, timeout=30)
    await turns_ended(bot_api, services)
    assert reactions_on(bot_api, group, note) == [["👀"], ["✍"], []]


async def test_a_reaction_telegram_refuses_is_skipped_without_a_word(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    bot_api.fail_next(
        "setMessageReaction", status=400, description="Bad Request: REACTION_INVALID", times=5
    )
    services = await start_bot(make_settings())
    bot_api.send_voice(USER, sample("en_1.ogg"), duration=6)
    text, voice = await bot_api.wait_for_messages(USER, 2, timeout=30)
    await turns_ended(bot_api, services)
    assert voice.kind == "voice"
    assert t("apology", "en") not in text.text
    assert len(bot_api.chat_messages(USER)) == 2
