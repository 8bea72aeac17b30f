"""The /voice settings message: voice replies, the voice and the speed, as inline buttons.

A press saves the choice and edits the same message, so the menu always shows what is saved.
Button data: "vm:r:<replies>", "vm:v:<voice>", "vm:s:<speed>" (well under Telegram's 64 bytes).
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.i18n import t
from bot.stores.prefs import REPLIES, SPEEDS, Preferences
from bot.tg.context import BotContext
from bot.tg.incoming import user_language

log = logging.getLogger(__name__)

PREFIX = "vm:"
VOICES_PER_ROW = 4


def speed_label(speed: float) -> str:
    """0.8× 1× 1.25× 1.5×."""
    return f"{speed:g}×"


def menu_text(prefs: Preferences, voices: tuple[str, ...], language: str | None) -> str:
    """What is chosen now, in the user's language."""
    lines = [
        t("voice_menu", language),
        t("voice_menu_replies", language, choice=t(f"replies_{prefs.replies}", language)),
    ]
    if voices:
        chosen = prefs.voice if prefs.voice in voices else voices[0]
        lines.append(t("voice_menu_voice", language, voice=chosen))
    lines.append(t("voice_menu_speed", language, speed=speed_label(prefs.speed)))
    return "\n".join(lines)


def menu_markup(
    prefs: Preferences, voices: tuple[str, ...], language: str | None
) -> InlineKeyboardMarkup:
    """One row of reply choices, rows of voices, one row of speeds; the chosen ones ticked."""

    def button(label: str, data: str, chosen: bool) -> InlineKeyboardButton:
        return InlineKeyboardButton(f"✓ {label}" if chosen else label, callback_data=data)

    rows = [
        [button(t(f"replies_{r}", language), f"{PREFIX}r:{r}", prefs.replies == r) for r in REPLIES]
    ]
    chosen_voice = prefs.voice if prefs.voice in voices else (voices[0] if voices else None)
    voice_buttons = [button(v, f"{PREFIX}v:{v}", v == chosen_voice) for v in voices]
    rows += [
        voice_buttons[i : i + VOICES_PER_ROW] for i in range(0, len(voice_buttons), VOICES_PER_ROW)
    ]
    rows.append([button(speed_label(s), f"{PREFIX}s:{s:g}", prefs.speed == s) for s in SPEEDS])
    return InlineKeyboardMarkup(rows)


def parse_choice(data: str, voices: tuple[str, ...]) -> dict[str, object] | None:
    """The preference change a button's data asks for.

    None for data that is not (or no longer) one of the choices.
    """
    kind, _, value = data.removeprefix(PREFIX).partition(":")
    if kind == "r" and value in REPLIES:
        return {"replies": value}
    if kind == "v" and value in voices:
        return {"voice": value}
    if kind == "s":
        speed = next((s for s in SPEEDS if f"{s:g}" == value), None)
        return {"speed": speed} if speed is not None else None
    return None


async def show(update: Update, context: BotContext, user_id: int) -> None:
    """Send the settings message."""
    if update.effective_message is None:
        return
    prefs = await context.services.prefs.load(user_id)
    voices = context.services.assistant.synthesizer.voices
    language = user_language(update)
    await update.effective_message.reply_text(
        menu_text(prefs, voices, language), reply_markup=menu_markup(prefs, voices, language)
    )


async def on_button(update: Update, context: BotContext) -> None:
    """Save the choice pressed and show the menu again, edited in place."""
    query = update.callback_query
    if query is None or query.data is None or update.effective_user is None:
        return
    voices = context.services.assistant.synthesizer.voices
    change = parse_choice(query.data, voices)
    prefs = context.services.prefs
    if change is None:
        chosen = await prefs.load(update.effective_user.id)
    else:
        chosen = await prefs.update(update.effective_user.id, **change)
    language = user_language(update)
    await query.answer()
    try:
        await query.edit_message_text(
            menu_text(chosen, voices, language), reply_markup=menu_markup(chosen, voices, language)
        )
    except BadRequest as error:  # the same choice pressed again: nothing to change
        if "not modified" not in error.message:
            raise
