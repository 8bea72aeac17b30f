"""Guest mode: called by @username in a group it is not a member of, about a voice note there."""

from __future__ import annotations

from bot.i18n import t
from tests.conftest import sample
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.bot_guest import GUEST_GROUP_ID
from tests.emulators.bot_state import BOT_USERNAME
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.openai_replies import CANNED
from tests.turns import turns_ended

SPEAKER, CALLER = 901, 902
SAID = "Let's meet at the station at nine."


def calls_into_the_group(bot_api: BotApiEmulator) -> list[str]:
    """The Bot API methods the bot called on the group itself (it is not a member there)."""
    return [c.method for c in bot_api.calls if str(c.params.get("chat_id")) == str(GUEST_GROUP_ID)]


async def test_a_guest_call_on_a_voice_note_gets_its_transcript(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(SAID, "english")
    services = await start_bot(make_settings())
    note = bot_api.voice_without_bot(SPEAKER, sample("en_1.ogg"), duration=6)
    query = bot_api.call_as_guest(CALLER, f"@{BOT_USERNAME}", reply_to=note)
    answer = await bot_api.wait_for_guest_answer(query)
    await turns_ended(bot_api, services)
    assert answer.text == t("heard", "en", text=SAID)
    assert (answer.chat_id, answer.caller_id) == (GUEST_GROUP_ID, CALLER)
    assert not openai_api.chat_requests(), "a bare call asks for the transcript only"
    assert not calls_into_the_group(bot_api), "the answer is the guest answer only"


async def test_a_guest_question_about_a_voice_note_gets_an_answer_about_it_in_text_only(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(SAID, "english")
    services = await start_bot(make_settings())
    bot_api.send_text(CALLER, "/voice on")  # voice replies wherever it can: not as a guest
    await bot_api.wait_for_messages(CALLER, 1)
    note = bot_api.voice_without_bot(SPEAKER, sample("en_1.ogg"), duration=6)
    query = bot_api.call_as_guest(CALLER, f"@{BOT_USERNAME} when do they meet?", reply_to=note)
    answer = await bot_api.wait_for_guest_answer(query)
    await turns_ended(bot_api, services)
    assert answer.text.startswith(f"{t('heard', 'en', text=SAID)}\n\n{CANNED['en']}")
    asked = openai_api.chat_requests()[0].json["messages"][-1]["content"]
    assert "when do they meet?" in asked and SAID in asked
    assert not openai_api.speech_requests(), "a guest answer cannot carry a voice note"
    assert "reply_markup" not in answer.result, "nor a button"
    assert not calls_into_the_group(bot_api)


async def test_a_guest_call_without_a_voice_note_gets_a_short_hint_in_the_callers_language(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    await start_bot(make_settings())
    query = bot_api.call_as_guest(CALLER, f"@{BOT_USERNAME} hola, ¿qué tal?", language_code="es")
    answer = await bot_api.wait_for_guest_answer(query)
    assert answer.text == t("guest_no_voice", "es", bot=BOT_USERNAME)
    assert answer.text != t("guest_no_voice", "en", bot=BOT_USERNAME)
    assert not openai_api.chat_requests() and not openai_api.transcription_requests()


async def test_a_guest_answer_over_telegrams_limit_is_cut_to_one_message(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.transcribe_with(SAID, "english")
    openai_api.reply_with("All the details, again and again. " * 150)  # 5100 characters
    openai_api.chunk_delay = 0.0  # its length is the point, not how it streams
    await start_bot(make_settings())
    note = bot_api.voice_without_bot(SPEAKER, sample("en_1.ogg"), duration=6)
    query = bot_api.call_as_guest(CALLER, f"@{BOT_USERNAME} tell me everything", reply_to=note)
    answer = await bot_api.wait_for_guest_answer(query)
    assert answer.text.startswith(t("heard", "en", text=SAID))
    assert answer.text.endswith(" …") and len(answer.text) <= 4096


async def test_a_guest_call_that_fails_unexpectedly_gets_the_apology_as_its_guest_answer(
    bot_api: BotApiEmulator, openai_api: OpenAIEmulator, make_settings, start_bot
) -> None:
    openai_api.reject_key("sk-test-key")  # the error boundary's case: the operator must act
    await start_bot(make_settings())
    note = bot_api.voice_without_bot(SPEAKER, sample("en_1.ogg"), duration=6)
    query = bot_api.call_as_guest(CALLER, f"@{BOT_USERNAME}", reply_to=note, language_code="de")
    answer = await bot_api.wait_for_guest_answer(query)
    assert answer.text == t("service_rejected", "de")
    assert not calls_into_the_group(bot_api)
