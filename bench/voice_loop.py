"""End-to-end benchmark of the voice loop: one person, many at once, a group, caches, start-up.

Run: .venv/bin/python -m bench.voice_loop [--quick] [--transcription 0.8] [--first-token 0.5]
     [--streaming 2.0] [--speech 0.3] [--realtime-connect 0.3] [--crowd 50,200] [--no-local]
     [--tts-model gpt-4o-mini-tts] [--people-only]

The Bot API and OpenAI emulators answer with the given fixed latencies; the bot runs as
`python -m bot` in its own process (bench/loop_harness.py). Every target of issue 9 (a row of
`TARGETS` in bench/loop_targets.py) is printed with its number and marked met or missed. The
limits next to each time follow from the latencies: the transcript can show after the
transcription, the first words after that plus the first token, the whole answer after the
whole stream, the voice note after one more sentence's speech. The voice is the bot's default
TTS_MODEL (a Realtime model: `--speech` is then each response's wait for its first audio,
`--realtime-connect` a new session's wait), or `--tts-model`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.loop_harness import (
    ROOT,
    BotProcess,
    Person,
    Trace,
    calls_by_method,
    median,
    percentile,
    trace,
)
from bench.loop_targets import Crowd, Local, Run, judge
from tests.emulators.bot_api import BotApiEmulator
from tests.emulators.openai_api import Latencies, OpenAIEmulator

SAMPLE = (ROOT / "tests" / "fixtures" / "en_1.ogg").read_bytes()
TELEGRAM_RATE = 30.0
ANSWERS = {
    "en": (
        "Question {n}: what will the weather be like tomorrow?",
        "Sure, here is answer {n}. Tomorrow will be mild and mostly dry. "
        "Take a light jacket for the evening. Have a lovely day!",
    ),
    "zh": (
        "第{n}个问题：明天天气怎么样？",
        "好的，这是第{n}个回答。明天天气温和，基本不会下雨。晚上请带一件薄外套。祝你愉快！",
    ),
}
LANGUAGE_NAMES = {"en": "english", "zh": "chinese"}


class Loop:
    """The emulators, the people and the bot under test."""

    def __init__(
        self,
        latencies: Latencies,
        data_dir: Path,
        database_url: str | None = None,
        tts_model: str | None = None,
    ):
        self.latencies = latencies
        self.database_url = database_url
        self.tts_model = tts_model
        self.bot_api = BotApiEmulator()
        self.openai_api = OpenAIEmulator(latencies=latencies)
        self.data_dir = data_dir
        self._numbers = itertools.count(1)
        self._user_ids = itertools.count(10_001)
        self.language = "en"
        self.bots: list[BotProcess] = []
        self.openai_api.transcribe_with(self._transcribe)
        self.openai_api.reply_with(self._answer)

    # ---- the emulated services -------------------------------------------------------------

    def _transcribe(self, fields: dict[str, str], audio: bytes) -> tuple[str, str]:
        question = ANSWERS[self.language][0].format(n=next(self._numbers))
        return question, LANGUAGE_NAMES[self.language]

    def _answer(self, body: dict[str, Any]) -> str:
        last = str(body["messages"][-1].get("content") or "")
        number = re.findall(r"\d+", last)
        language = "zh" if re.search(r"[\u4e00-\u9fff]", last) else "en"
        return ANSWERS[language][1].format(n=number[-1] if number else 0)

    def people(self, count: int, *, chat_id: int | None = None) -> list[Person]:
        """`count` new people (new user ids); they will ask the next questions in order."""
        people = []
        for _ in range(count):
            user = next(self._user_ids)
            people.append(Person(user, chat_id or user, "", ""))
        return people

    def bot(self, **env: str) -> BotProcess:
        """A bot process on these emulators (not started)."""
        if self.database_url:
            env = {"DATABASE_URL": self.database_url, **env}
        if self.tts_model:
            env = {"TTS_MODEL": self.tts_model, **env}
        bot = BotProcess(self.bot_api, self.openai_api, self.data_dir, extra_env=env)
        self.bots.append(bot)
        return bot

    # ---- scenarios ---------------------------------------------------------------------------

    async def voice_round(self, people: list[Person], within: float) -> list[Trace]:
        """Everyone sends a voice note at the same moment; what each of them saw."""
        start = len(self.bot_api.calls)
        for person in people:
            person.sent_at = time.time()
            person.message_id = self.bot_api.send_voice(person.user_id, SAMPLE, duration=6)
        await self.wait_for_voices(people, start, within)
        calls = self.bot_api.calls[start:]
        # Transcriptions are numbered in the order they arrive, so who got which question is
        # read from what each chat was sent.
        self._assign_questions(people, calls)
        return [trace(person, calls, group=False) for person in people]

    def _assign_questions(self, people: list[Person], calls: list[Any]) -> None:
        """Who got which question: the transcript each chat was shown, else the answer sent."""
        question, answer = ANSWERS[self.language]
        pattern = re.compile(re.escape(answer.split("{n}")[0]) + r"(\d+)")
        for person in people:
            texts = [
                str(c.params.get("text") or "")
                for c in calls
                if int(c.params.get("chat_id") or 0) == person.chat_id
            ]
            numbers = [m.group(1) for t in texts if (m := pattern.search(t))]
            number = numbers[0] if numbers else "?"
            person.question = question.format(n=number)
            person.answer = answer.format(n=number)

    async def wait_for_voices(self, people: list[Person], start: int, within: float) -> None:
        chats = {p.chat_id for p in people}
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            voiced = {
                int(c.params.get("chat_id") or 0)
                for c in self.bot_api.calls[start:]
                if c.method == "sendVoice"
            }
            if chats <= voiced:
                return
            await asyncio.sleep(0.05)

    async def group_round(self, members: int, chat_id: int, within: float) -> list[Trace]:
        """`members` of one group ask the bot (typed, @mentioned) at the same moment."""
        start = len(self.bot_api.calls)
        people = self.people(members, chat_id=chat_id)
        question, answer = ANSWERS["en"]
        for person in people:
            number = next(self._numbers)
            person.question, person.answer = question.format(n=number), answer.format(n=number)
            person.sent_at = time.time()
            person.message_id = self.bot_api.send_text(
                person.user_id,
                f"@voice_test_bot {person.question}",
                chat_id=chat_id,
                chat_type="supergroup",
            )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            traces = [trace(p, self.bot_api.calls[start:], group=True) for p in people]
            if all(t.whole is not None for t in traces):
                return traces
            await asyncio.sleep(0.05)
        return [trace(p, self.bot_api.calls[start:], group=True) for p in people]

    async def cache_hits(self) -> tuple[float, int, float, int]:
        """A repeated typed question and a forwarded voice note: seconds and model calls each."""
        requests = self.openai_api.requests
        asker, repeater, speaker, forwarder = self.people(4)
        question = "What is the capital of France?"
        self.bot_api.send_text(asker.user_id, question)
        await self.bot_api.wait_for_messages(asker.chat_id, count=1, timeout=60)
        before, calls, start = len(requests), len(self.bot_api.calls), time.time()
        self.bot_api.send_text(repeater.user_id, question)
        await self.bot_api.wait_for_messages(repeater.chat_id, count=1, timeout=60)
        text_seconds = self._first(calls, "sendMessage", repeater.chat_id) - start
        text_calls = len(requests) - before
        file_id, unique_id = self.bot_api.add_file(SAMPLE)
        calls = len(self.bot_api.calls)
        self.bot_api.send_voice(speaker.user_id, file_id, duration=6)
        await self.wait_for_voices([speaker], calls, 60)
        copy_id, _ = self.bot_api.add_file(SAMPLE, file_unique_id=unique_id)  # a forwarded copy
        before, calls, start = len(requests), len(self.bot_api.calls), time.time()
        self.bot_api.send_voice(forwarder.user_id, copy_id, duration=6)
        await self.wait_for_voices([forwarder], calls, 60)
        voice_seconds = self._first(calls, "sendVoice", forwarder.chat_id) - start
        return text_seconds, text_calls, voice_seconds, len(requests) - before

    def _first(self, start: int, method: str, chat_id: int) -> float:
        for call in self.bot_api.calls[start:]:
            if call.method == method and int(call.params.get("chat_id") or 0) == chat_id:
                return call.time
        return float("nan")


# ---- measuring ---------------------------------------------------------------------------------


def progress(what: str) -> None:
    """Say on stderr what runs now (a run takes minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


def limits(latencies: Latencies) -> dict[str, float]:
    """What the emulated services allow each stage at best."""
    streaming = latencies.streaming or 0.0
    first_words = latencies.transcription + latencies.first_token
    whole = first_words + streaming
    return {
        "transcript": latencies.transcription,
        "first_words": first_words,
        "whole": whole,
        "voice": whole + latencies.speech,
    }


async def crowd(loop: Loop, size: int, *, within: float) -> Crowd:
    """`size` people at once on a freshly started bot (so memory and stalls are this round's)."""
    progress(f"{size} people at once")
    bot = loop.bot()
    await bot.start()
    try:
        people = loop.people(size)
        start, cpu = len(loop.bot_api.calls), bot.cpu_seconds()
        traces = await loop.voice_round(people, within)
        cpu = bot.cpu_seconds() - cpu
        calls = calls_by_method(loop.bot_api.calls[start:], {p.chat_id for p in people})
        calls["getFile"] = sum(1 for c in loop.bot_api.calls[start:] if c.method == "getFile")
        return Crowd(
            size,
            traces,
            calls,
            bot.peak_memory_mb(),
            1000 * bot.metric("event_loop_lag_max_seconds"),
            1000 * cpu / size,
            bot.log_summary(),
        )
    finally:
        await bot.stop()


async def one_person(loop: Loop, language: str, runs: int) -> dict[str, float]:
    """Median over `runs` of each stage for one person alone."""
    progress(f"one person ({language})")
    loop.language = language
    bot = loop.bot()
    await bot.start()
    try:
        await loop.voice_round(loop.people(1), 60)  # not counted: a serving bot is warm
        traces = [(await loop.voice_round(loop.people(1), 60))[0] for _ in range(runs)]
    finally:
        await bot.stop()
        loop.language = "en"
    return {
        name: median([v for t in traces if (v := getattr(t, name)) is not None])
        for name in ("first_sign", "transcript", "first_words", "whole", "voice")
    }


async def group(loop: Loop) -> tuple[float, list[float]]:
    """One member asking alone, then five at once: seconds until each read the whole answer."""
    bot = loop.bot()
    await bot.start()
    try:
        alone = await loop.group_round(1, -1001000000001, 60)
        five = await loop.group_round(5, -1001000000002, 120)
    finally:
        await bot.stop()
    return alone[0].whole or float("nan"), [
        t.whole if t.whole is not None else float("inf") for t in five
    ]


def import_seconds(module: str) -> float:
    """`python -X importtime -c "import module"`: the module's cumulative import time."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in result.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1e6
    return float("nan")


async def talk_seconds(data_dir: Path) -> float:
    """Wall time of `python -m bot talk --text ...` against a server that answers at once."""
    async with OpenAIEmulator(chunk_delay=0.0) as server:
        assert isinstance(server, OpenAIEmulator)
        env = {
            **dict(__import__("os").environ),
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": server.base_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'talk.db'}",
            "DATA_DIR": str(data_dir),
            "LOG_LEVEL": "WARNING",
        }
        env.pop("TELEGRAM_BOT_TOKEN", None)
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "talk",
            "--text",
            "Hello there",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
        )
        await process.wait()
        return time.perf_counter() - started


async def local_whisper(loop: Loop, samples: list[str]) -> Local:
    """RTF per sample called directly and through the bot; then every sample at once."""
    import json

    from bot.asr.faster_whisper import FasterWhisperTranscriber
    from bot.audio import decode_to_wav
    from bot.core.language import language_to_hear

    manifest = {
        m["file"]: m for m in json.loads((ROOT / "tests/fixtures/manifest.json").read_text())
    }
    models = ROOT / "data" / "models"
    direct: dict[str, float] = {}
    same_work: dict[str, float] = {}
    transcriber = FasterWhisperTranscriber(model="base", cache_dir=models)
    await transcriber.load()
    for name in samples:
        data = (ROOT / "tests/fixtures" / name).read_bytes()
        started = time.perf_counter()
        wav = await asyncio.to_thread(decode_to_wav, data)
        await transcriber.transcribe(wav.wav)
        direct[name] = (time.perf_counter() - started) / manifest[name]["duration"]
        # What the bot does for a user whose Telegram language is the sample's: identify, then
        # decode once in the language chosen (bot.core.language.language_to_hear).
        started = time.perf_counter()
        wav = await asyncio.to_thread(decode_to_wav, data)
        guess = await transcriber.identify(wav.wav)
        assert guess is not None
        chosen = language_to_hear(
            asr_language=guess.language,
            asr_probability=guess.probability,
            pinned=None,
            last_spoken=None,
            telegram_language=name.split("_")[0],
        )
        await transcriber.transcribe(wav.wav, language=chosen)
        same_work[name] = (time.perf_counter() - started) / manifest[name]["duration"]
    await transcriber.aclose()
    bot = loop.bot(ASR_BACKEND="faster-whisper", DATA_DIR=str(ROOT / "data"), LOG_LEVEL="INFO")
    await bot.start()
    try:
        through: dict[str, float] = {}
        await _heard(loop, ["en_1.ogg"])  # the model loads once, on start (warm-up) or here
        for name in samples:
            through[name] = (await _heard(loop, [name]))[0] / manifest[name]["duration"]
        # As many users at once as there are cores: more could only take turns.
        at_once = samples[: max(2, os.cpu_count() or 2)]
        together = await _heard(loop, at_once)
        side = [s / manifest[n]["duration"] for s, n in zip(together, at_once, strict=True)]
    finally:
        await bot.stop()
    return Local(
        direct, same_work, through, side, loads=bot.log_lines("loading faster-whisper model")
    )


async def _heard(loop: Loop, samples: list[str]) -> list[float]:
    """Send each sample from a new person at once; seconds until each transcript showed.

    Returns after every answer is complete, so the next call measures on a quiet bot.
    """
    people = loop.people(len(samples))
    chats = {p.chat_id for p in people}
    start = len(loop.bot_api.calls)
    for person, name in zip(people, samples, strict=True):
        person.sent_at = time.time()
        audio = (ROOT / "tests/fixtures" / name).read_bytes()
        language = name.split("_")[0]  # the speaker's Telegram language, as a real user's
        loop.bot_api.send_voice(person.user_id, audio, duration=10, language_code=language)
    await loop.wait_for_voices(people, start, 240)
    times: dict[int, float] = {}
    for call in loop.bot_api.calls[start:]:
        chat = int(call.params.get("chat_id") or 0)
        if call.method in ("sendMessageDraft", "sendMessage") and chat in chats:
            times.setdefault(chat, call.time)
    return [times.get(p.chat_id, float("inf")) - p.sent_at for p in people]


# ---- the report --------------------------------------------------------------------------------


def _s(value: float) -> str:
    return f"{value:.2f}"


def _p(values: list[float]) -> str:
    top = max(values, default=float("nan"))
    return f"{_s(percentile(values, 0.5))} / {_s(percentile(values, 0.95))} / {_s(top)}"


def person_table(results: dict[str, dict[str, float]], bounds: dict[str, float]) -> list[str]:
    """One person alone: each stage, its limit and the ratio."""
    lines = ["| language | stage | seconds | limit | ratio |", "| --- | --- | --- | --- | --- |"]
    for language, stages in results.items():
        for stage in ("transcript", "first_words", "whole", "voice"):
            value, bound = stages[stage], bounds[stage]
            lines.append(
                f"| {language} | {stage.replace('_', ' ')} | {_s(value)} | {_s(bound)} "
                f"| {value / bound:.2f} × |"
            )
    return lines


def crowd_table(crowds: list[Crowd]) -> list[str]:
    """Many people at once: p50 / p95 / max per stage, losses, calls, memory, stalls."""
    lines = [
        "| people | first sign | transcript | first words | whole answer | voice note "
        "| lost (no voice) | Telegram calls per answer | peak MB | longest stall ms "
        "| bot CPU ms per answer |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in crowds:
        per = ", ".join(f"{m} {n / c.size:.2f}" for m, n in sorted(c.calls.items()))
        lines.append(
            f"| {c.size} | {_p(c.stage('first_sign'))} | {_p(c.stage('transcript'))} "
            f"| {_p(c.stage('first_words'))} | {_p(c.stage('whole'))} | {_p(c.stage('voice'))} "
            f"| {c.lost} ({c.voiceless}) | {per} | {c.peak_mb:.0f} | {c.stall_ms:.0f} "
            f"| {c.cpu_ms:.0f} |"
        )
    return lines


def upload_format(openai_api: OpenAIEmulator) -> str:
    """The extension and size of what the bot uploaded for transcription."""
    for request in openai_api.transcription_requests():
        name = request.filenames.get("file", "")
        return f"{name.rpartition('.')[2]}, {len(request.files.get('file', b''))} bytes"
    return "none"


async def main(args: argparse.Namespace) -> None:
    """Run every scenario and print the tables."""
    latencies = Latencies(
        args.transcription, args.first_token, args.streaming, args.speech, args.realtime_connect
    )
    bounds = limits(latencies)
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="voice-loop-") as tmp:
        loop = Loop(latencies, Path(tmp), database_url=args.database_url, tts_model=args.tts_model)
        async with loop.bot_api, loop.openai_api:
            people = {}
            for language in ("en", "zh"):
                people[language] = await one_person(loop, language, runs)
            if args.people_only:
                print_people(latencies, runs, people, bounds, loop.openai_api)
                return
            crowds = [await crowd(loop, 1, within=60)]
            for size in args.crowd:
                crowds.append(await crowd(loop, size, within=240))
            group_result = await group(loop)
            bot = loop.bot()
            await bot.start()
            try:
                cache = await loop.cache_hits()
            finally:
                await bot.stop()
            upload = upload_format(loop.openai_api)
            samples = (
                ["en_1.ogg", "zh_1.ogg"]
                if args.quick
                else ["en_1.ogg", "en_2.ogg", "zh_1.ogg", "ru_1.ogg"]
            )
            local = None if args.no_local else await local_whisper(loop, samples)
            start = {
                # The first start migrated a new database; every later one is a restart.
                "restart": median([b.startup_seconds for b in loop.bots[1:]]),
                "import": median([import_seconds("bot.app") for _ in range(runs)]),
                "talk": median([await talk_seconds(Path(tmp)) for _ in range(runs)]),
            }
    print_people(latencies, runs, people, bounds, loop.openai_api)
    print("\n".join(crowd_table(crowds)) + "\n")
    print("Times in seconds after the message was sent: p50 / p95 / max.\n")
    for c in crowds:
        if c.log:
            print(f"The bot's log at {c.size} people: " + "; ".join(c.log) + "\n")
    if local is not None:
        print(
            "| sample | RTF bare, its own guess | RTF bare, the bot's choice "
            "| RTF through the bot |\n| --- | --- | --- | --- |"
        )
        for name in local.direct:
            print(
                f"| {name} | {local.direct[name]:.3f} | {local.same_work[name]:.3f} "
                f"| {local.through_bot[name]:.3f} |"
            )
        together = ", ".join(f"{v:.3f}" for v in local.side_by_side)
        print(f"\nAll at once through the bot: RTF {together}\n")
    run = Run(people, bounds, crowds, *group_result, cache, local, start, upload)
    print("| target | measured | |\n| --- | --- | --- |")
    print("\n".join(row.render() for row in judge(run)))


def print_people(
    latencies: Latencies,
    runs: int,
    people: dict[str, dict[str, float]],
    bounds: dict[str, float],
    openai_api: OpenAIEmulator,
) -> None:
    """The latencies, the voice's path and the one-person table (times against their limits)."""
    print(
        f"\nLatencies: transcription {latencies.transcription} s, first token "
        f"{latencies.first_token} s, streaming {latencies.streaming} s, speech "
        f"{latencies.speech} s per request, a realtime session's start "
        f"{latencies.realtime_connect} s; medians of {runs}.\n"
    )
    print(speech_path(openai_api) + "\n")
    print("\n".join(person_table(people, bounds)) + "\n")


def speech_path(openai_api: OpenAIEmulator) -> str:
    """How the voice was made: Realtime sessions opened for how many sentences, or requests."""
    realtime = openai_api.realtime
    if realtime.connections:
        return (
            f"Voice: Realtime API, {len(realtime.responses())} sentences read on "
            f"{realtime.connections} sessions (one per bot started, and per sentence at once)."
        )
    return f"Voice: /v1/audio/speech, {len(openai_api.speech_requests())} requests."


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.voice_loop", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run per case, two samples")
    parser.add_argument("--transcription", type=float, default=0.8)
    parser.add_argument("--first-token", type=float, default=0.5)
    parser.add_argument("--streaming", type=float, default=2.0)
    parser.add_argument("--speech", type=float, default=0.3)
    parser.add_argument("--realtime-connect", type=float, default=0.3)
    parser.add_argument("--tts-model", help="TTS_MODEL (default: the bot's, a Realtime model)")
    parser.add_argument(
        "--people-only", action="store_true", help="one person in each language, nothing else"
    )
    parser.add_argument("--crowd", type=lambda v: [int(x) for x in v.split(",")], default=[50, 200])
    parser.add_argument("--no-local", action="store_true", help="skip faster-whisper")
    parser.add_argument(
        "--database-url", help="the bot's DATABASE_URL (default: a new SQLite file, as deployed)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
