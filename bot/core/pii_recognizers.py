"""Recognisers for personal data: each finds candidate spans of one kind in a text (pure)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher


@dataclass(frozen=True)
class PersonalItem:
    """One piece of personal data found in a text: its kind, span and the text it covers."""

    kind: str
    start: int
    end: int
    value: str


# On overlapping spans of equal length the lower rank wins: the more specific recogniser.
RANK = {"url": 0, "secret": 1, "email": 2, "iban": 3, "cn_id": 4, "card": 5, "ip": 6, "phone": 7}

_A = re.ASCII

# ---------------------------------------------------------------- e-mail and URLs

# Any script, as internationalised addresses (RFC 6531) have it: jürgen@bäckerei.de,
# иван@пример.рф, संपर्क@डाटामेल.भारत, 张伟@公司.中国; a top-level domain is letters, or punycode
# (xn--p1ai). Combining marks (vowel signs, viramas, diacritics) are part of a word although
# `\w` does not take them. Chinese, Japanese and Korean are written without spaces, so a run of
# those characters ends a Latin or Cyrillic address ("邮箱是zhang@example.cn请回复") and is one on
# its own ("张伟@...").
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"


def _mark_ranges() -> str:
    """Every combining mark (categories Mn, Mc, Me) as a regex class body."""
    marks = [c for c in range(0x20000) if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me")]
    marks += range(0xE0100, 0xE01F0)  # variation selectors supplement
    ranges: list[tuple[int, int]] = []
    for code in marks:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


_MARK = f"[{_mark_ranges()}]"
_WORD = rf"(?:[^\W{_CJK}]|{_MARK})"  # a letter, mark, digit or _ of any script but CJK
_LETTER = rf"[^\W\d_{_CJK}]"
_EMAIL = re.compile(
    rf"(?:(?<![._%+-])(?<!{_WORD})[^\W_{_CJK}](?:{_WORD}|[.%+-])*|(?<![\w.%+-])[{_CJK}]+)"
    rf"@(?:[^\W_](?:[^\W_]|{_MARK}|-)*\.)+"
    rf"(?:{_LETTER}(?:{_LETTER}|{_MARK})+(?!{_WORD}|-)|[{_CJK}]{{2,}}(?![\w-])"
    rf"|xn--[A-Za-z0-9-]+(?!{_WORD}))"
)
# Printable ASCII only, so a URL stops where Chinese text or a quote begins.
_URL = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z][A-Za-z0-9+.-]{1,15}://|www\.)[!-~]+", _A)
_URL_STRIP = ".,;:!?)]}'\"`>"
_SECRET_PARAMS = frozenset(
    {"sig", "auth", "pass", "pwd", "passwd", "session", "sessionid", "sid", "jwt", "apikey"}
)
_SECRET_PARAM_ENDINGS = ("token", "key", "secret", "signature", "password", "credential")


def find_emails(text: str) -> Iterator[PersonalItem]:
    """Yield e-mail addresses."""
    for m in _EMAIL.finditer(text):
        yield PersonalItem("email", m.start(), m.end(), m.group())


def find_urls(text: str) -> Iterator[PersonalItem]:
    """Yield URLs that carry a password (user:pass@) or a token-like query or fragment parameter."""
    for m in _URL.finditer(text):
        url = m.group().rstrip(_URL_STRIP)
        if _url_has_credentials(url):
            yield PersonalItem("url", m.start(), m.start() + len(url), url)


def _url_has_credentials(url: str) -> bool:
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.password:
            return True
        params = parse_qsl(parts.query) + parse_qsl(parts.fragment)
    except ValueError:  # malformed netloc or port: not a URL we can judge
        return False
    return any(_is_secret_param(name) and value for name, value in params)


def _is_secret_param(name: str) -> bool:
    name = name.lower().replace("-", "_")
    return name in _SECRET_PARAMS or name.endswith(_SECRET_PARAM_ENDINGS)


# ---------------------------------------------------------------- secrets

_SECRET_PATTERNS = tuple(
    re.compile(p, _A)
    for p in (
        r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}",  # OpenAI, Anthropic (sk-ant-), sk-proj-
        r"(?<![A-Za-z0-9_])[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe secret/restricted
        r"(?<![0-9])[0-9]{8,10}:[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])",  # Telegram bot token
        r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])",  # AWS access key id
        r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}",  # GitHub classic tokens
        r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}",  # GitHub fine-grained token
        r"(?<![A-Za-z0-9_])glpat-[A-Za-z0-9_-]{20,}",  # GitLab
        r"(?<![A-Za-z0-9_])xox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
        r"(?<![A-Za-z0-9_])AIza[0-9A-Za-z_-]{35}",  # Google API key
        r"(?<![A-Za-z0-9_])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWT
    )
)
_PW_WORDS = r"password|passwd|passcode|pwd|парол[ьяе]|contraseña|passwort|kennwort|密码|口令"
_KEY_WORDS = r"token|api[ _-]?key|secret|key|токен|ключ|clave|llave|schlüssel|密钥|令牌|秘钥"
_LETTER = r"A-Za-z\u0400-\u04ff"  # Latin and Cyrillic
# A keyword, then separators or linking words ("is", "lautet", "是"), then the candidate:
# printable ASCII without quotes or spaces.
_JOIN = (
    r"(?:[\s:=\uff1a\"'«»“”\u2014\u2013-]|\b(?:is|was|es|ist|lautet|это|равен)\b|是|为"
    r"|\b(?:от|для|for|für|del|de|of|to)(?:\s+\w+){1,2})"  # "пароль от почты", "password for wifi"
    r"{1,8}"
)
_KEYWORD_SECRET = re.compile(
    # A Latin or Cyrillic keyword must start a word; a Chinese one may follow "wifi" directly.
    rf"(?:(?<![{_LETTER}])|(?=[^{_LETTER}]))"
    rf"(?:(?P<pw>{_PW_WORDS})|(?P<key>{_KEY_WORDS})){_JOIN}(?P<tok>[!#-&(-~]+)",
    re.IGNORECASE,
)
_TRAILING_PUNCT = ".,;:?)]}>"


def find_secrets(text: str) -> Iterator[PersonalItem]:
    """Yield API keys, bot tokens and long high-entropy values named as a password, key or token."""
    for pattern in _SECRET_PATTERNS:
        for m in pattern.finditer(text):
            yield PersonalItem("secret", m.start(), m.end(), m.group())
    for m in _KEYWORD_SECRET.finditer(text):
        token = m.group("tok").rstrip(_TRAILING_PUNCT)
        if _looks_secret(token, password=m.group("pw") is not None):
            yield PersonalItem("secret", m.start("tok"), m.start("tok") + len(token), token)


def _looks_secret(token: str, *, password: bool) -> bool:
    # Passwords may be short; a key or token must be long and random-looking.
    classes = sum(
        any(test(c) for c in token)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    if password:
        return len(token) >= 6 and (classes >= 2 or (token.isdigit() and len(token) >= 8))
    return len(token) >= 16 and classes >= 2 and _entropy(token) >= 3.0 and "://" not in token


def _entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


# ---------------------------------------------------------------- cards, IBANs, Chinese IDs

# Groups may be split by spaces, dashes, dots or line breaks. The lookbehind keeps the tail of an
# IBAN ("DE51 5001 0517 ...") from reading as a card.
_DIGIT_RUN = re.compile(
    r"(?<![0-9A-Za-z+])(?<![A-Za-z]{2}[0-9]{2}[ .\n-])[0-9]+(?:(?:[ .-]|\r?\n)[0-9]+)*"
    r"(?![0-9A-Za-z])",
    _A,
)
_GROUP = re.compile(r"[0-9]+", _A)
# Dots, dashes and line breaks also split dates, versions, amounts and order numbers
# ("112-4567890-1234567"): there, only a card's own grouping counts (4-4-4-4 with up to three
# more digits, or Amex's 4-6-5).
_DOTTED_CARD_GROUPS = re.compile(r"4,4,4,4(?:,[1-3])?|4,6,[45]")


def luhn_ok(digits: str) -> bool:
    """Return whether a digit string passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def find_cards(text: str) -> Iterator[PersonalItem]:
    """Yield payment card numbers: 13-19 digits, spaced or dashed, Luhn-valid, issuer digit 2-6."""
    for run in _DIGIT_RUN.finditer(text):
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(run.group())]
        # The whole run, else the run less trailing groups (a CVV) or less leading ones.
        spans = [(0, len(groups))]
        spans += [(0, j) for j in range(len(groups) - 1, 0, -1)]
        spans += [(i, len(groups)) for i in range(1, len(groups))]
        for i, j in spans:
            start, end = run.start() + groups[i][0], run.start() + groups[j - 1][1]
            value = text[start:end]
            digits = re.sub(r"[^0-9]", "", value)
            if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_ok(digits):
                if _card_shaped(value):
                    yield PersonalItem("card", start, end, value)
                    break


def _card_shaped(value: str) -> bool:
    if not re.search(r"[.\n-]", value):
        return True
    sizes = ",".join(str(len(g)) for g in _GROUP.findall(value))
    return _DOTTED_CARD_GROUPS.fullmatch(sizes) is not None


IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}", _A)


def iban_ok(iban: str) -> bool:
    """Return whether a compact IBAN has its country's length and a valid mod-97 checksum."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum() or not iban.isascii():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def find_ibans(text: str) -> Iterator[PersonalItem]:
    """Yield IBANs, compact or grouped by single separators, checked by length and mod 97."""
    for m in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(m.group()[:2].upper())
        end = _take_alnum(text, m.start(), length) if length else None
        if end is not None and iban_ok(re.sub(r"[^0-9A-Za-z]", "", text[m.start() : end])):
            yield PersonalItem("iban", m.start(), end, text[m.start() : end])


_IBAN_SEPARATORS = " .-\n"


def _take_alnum(text: str, pos: int, count: int) -> int | None:
    """Return the end of `count` ASCII alphanumerics from pos, with single separators between.

    A separator is a space, dot, dash or line break: people write IBANs in groups of four.
    """
    taken = 0
    while pos < len(text) and taken < count:
        if (
            text[pos] in _IBAN_SEPARATORS
            and taken
            and pos + 1 < len(text)
            and text[pos + 1] not in _IBAN_SEPARATORS
        ):
            pos += 1
        if not (text[pos].isascii() and text[pos].isalnum()):
            return None
        taken, pos = taken + 1, pos + 1
    at_boundary = pos == len(text) or not (text[pos].isascii() and text[pos].isalnum())
    return pos if taken == count and at_boundary else None


_CN_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9][0-9]{5}[ ]?(?:18|19|20)[0-9]{6}[ ]?[0-9]{3}[0-9Xx](?![0-9A-Za-z])", _A
)
_CN_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83".split()
)
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_ok(number: str) -> bool:
    """Return whether an 18-character Chinese ID has a province, a real date and check digit."""
    number = number.upper()
    if len(number) != 18 or number[:2] not in _CN_PROVINCES:
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _CN_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17]


def find_cn_ids(text: str) -> Iterator[PersonalItem]:
    """Yield Chinese resident identity numbers (ISO 7064 MOD 11-2 check digit)."""
    for m in _CN_ID.finditer(text):
        if cn_id_ok(m.group().replace(" ", "")):
            yield PersonalItem("cn_id", m.start(), m.end(), m.group())


# ---------------------------------------------------------------- IP addresses

_IPV4 = re.compile(r"(?<![0-9A-Za-z.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])", _A)
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{0,4})"
    r"(?![0-9A-Za-z:])",
    _A,
)
# "version 2.4.1.0" and "v1.2.3.4" are version numbers, not addresses.
_VERSION_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:version|versión|версия|версии|版本|build|release|ver\.?|v)\s*$", re.I
)


def find_ips(text: str) -> Iterator[PersonalItem]:
    """Yield IPv4 and IPv6 addresses that the ipaddress module accepts."""
    for pattern, parse in ((_IPV4, ipaddress.IPv4Address), (_IPV6, ipaddress.IPv6Address)):
        for m in pattern.finditer(text):
            if _VERSION_BEFORE.search(text[max(0, m.start() - 10) : m.start()]):
                continue
            try:
                parse(m.group())
            except ValueError:
                continue
            yield PersonalItem("ip", m.start(), m.end(), m.group())


# ---------------------------------------------------------------- phone numbers

_CN_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])", _A)
# A bare digit run is a phone number only next to a word like these (or with a trunk prefix).
_PHONE_WORDS = re.compile(
    r"phone|call|ring|dial|text|number|tel|mobile|cell|whats ?app|telegram|sms|fax|contact"
    r"|телефон|номер|звони|позвони|моб|сотов|вотсап|ватсап|смс|факс"
    r"|teléfono|telefono|móvil|movil|llam|número|numero|celular|contacto"
    r"|telefon|handy|nummer|ruf|anruf|festnetz|mobil|kontakt|appel|portable|numéro"
    r"|电话|手机|号码|联系|打给|致电|微信",
    re.IGNORECASE,
)
# Codes like "INV-2024-000123", "#4471-2231" or "№ 4471" are not phone numbers.
_CODE_BEFORE = re.compile(r"(?:[0-9A-Za-z#№/_-]|[0-9][ -])$", _A)
_CODE_AFTER = re.compile(r"^(?:[0-9A-Za-z/_-]|[ -][0-9])", _A)


# Separators people use that phonenumbers does not know; each becomes one space for the search.
_ODD_SEPARATORS = str.maketrans(dict.fromkeys("·•∙⋅‧_~\u2007\u2008\u2009\u200a\u202f", " "))

# Digits said as words, as a voice transcript has them: "plus four one five ...", "ноль девять".
_DIGIT_WORDS = {
    **dict.fromkeys(("zero", "oh", "null", "cero", "ноль", "нуль"), "0"),
    **dict.fromkeys(("one", "eins", "uno", "una", "один", "одна"), "1"),
    **dict.fromkeys(("two", "zwei", "zwo", "dos", "два", "две"), "2"),
    **dict.fromkeys(("three", "drei", "tres", "три"), "3"),
    **dict.fromkeys(("four", "vier", "cuatro", "четыре"), "4"),
    **dict.fromkeys(("five", "fünf", "cinco", "пять"), "5"),
    **dict.fromkeys(("six", "sechs", "seis", "шесть"), "6"),
    **dict.fromkeys(("seven", "sieben", "siete", "семь"), "7"),
    **dict.fromkeys(("eight", "acht", "ocho", "восемь"), "8"),
    **dict.fromkeys(("nine", "neun", "nueve", "девять"), "9"),
}
_CJK_DIGITS = dict(zip("零〇一幺二两三四五六七八九", "0011223456789", strict=True))
_REPEAT_WORDS = {"double": 2, "triple": 3}
_PLUS_WORDS = ("plus", "плюс", "más", "mas")
_SPOKEN_TOKEN = rf"(?:(?:{'|'.join(_REPEAT_WORDS)})\s+)?(?:{'|'.join(_DIGIT_WORDS)}|[0-9]+)"
_SPOKEN_PHONE = re.compile(
    rf"(?<!\w)(?:(?:{'|'.join(_PLUS_WORDS)})\s+|\+\s?)?{_SPOKEN_TOKEN}"
    rf"(?:[\s,-]{{1,2}}{_SPOKEN_TOKEN}){{3,}}(?!\w)"
    rf"|[{''.join(_CJK_DIGITS)}]{{7,}}",
    re.IGNORECASE,
)
_SPOKEN_PART = re.compile(
    rf"(?P<plus>{'|'.join(_PLUS_WORDS)}|\+)|(?:(?P<times>{'|'.join(_REPEAT_WORDS)})\s+)?"
    rf"(?P<digits>{'|'.join(_DIGIT_WORDS)}|[0-9]+|[{''.join(_CJK_DIGITS)}])",
    re.IGNORECASE,
)


def spoken_digits(text: str) -> str | None:
    """The number in digits when text says digits as words ("plus four one five"); else None."""
    out, words = "", 0
    for part in _SPOKEN_PART.finditer(text):
        if part.group("plus"):
            out += "+"
            continue
        said = part.group("digits").lower()
        digits = _DIGIT_WORDS.get(said) or _CJK_DIGITS.get(said) or said
        words += said != digits
        out += digits * _REPEAT_WORDS.get((part.group("times") or "").lower(), 1)
    return out if words else None


def phone_readable(value: str) -> str:
    """A phone number as phonenumbers can parse it: digits for words, odd separators as spaces."""
    return spoken_digits(value) or value.translate(_ODD_SEPARATORS)


def find_phones(text: str, regions: Sequence[str]) -> Iterator[PersonalItem]:
    """Yield valid phone numbers.

    Those are '+'-prefixed, national ones of the regions, Chinese mobiles, and numbers said as
    words next to a word like "phone".
    """
    seen: set[tuple[int, int]] = set()
    if sum(c.isdigit() for c in text) >= 7:  # no phone number is shorter; skips most messages
        scan = text.translate(_ODD_SEPARATORS)  # same length, so spans fit `text`
        for region in ("ZZ", *regions):
            for m in PhoneNumberMatcher(scan, region, leniency=Leniency.VALID):
                if (m.start, m.end) not in seen and _plausible_phone(text, m.start, m.end):
                    seen.add((m.start, m.end))
                    yield PersonalItem("phone", m.start, m.end, text[m.start : m.end])
        for mobile in _CN_MOBILE.finditer(text):
            span = mobile.span()
            if span not in seen and valid_in(mobile.group(), "CN"):
                yield PersonalItem("phone", *span, mobile.group())
    yield from _find_spoken_phones(text, regions)


def _find_spoken_phones(text: str, regions: Sequence[str]) -> Iterator[PersonalItem]:
    for m in _SPOKEN_PHONE.finditer(text):
        digits = spoken_digits(m.group())
        if digits is None or len(digits.lstrip("+")) < 7:
            continue
        # Counting ("one two three four ...") is not a number: a phone word must come first.
        if not _PHONE_WORDS.search(text[max(0, m.start() - 40) : m.start()]):
            continue
        valid = (
            valid_in(digits, "ZZ")
            if digits.startswith("+")
            else any(valid_in(digits, r) for r in (*regions, "CN"))
        )
        if valid:
            yield PersonalItem("phone", m.start(), m.end(), m.group())


def _plausible_phone(text: str, start: int, end: int) -> bool:
    raw = text[start:end]
    if sum(c.isdigit() for c in raw) < 7:
        return False
    before, after = text[max(0, start - 2) : start], text[end : end + 2]
    if _CODE_BEFORE.search(before) or _CODE_AFTER.match(after):
        return False
    if _looks_like_version(raw) or _VERSION_BEFORE.search(text[max(0, start - 10) : start]):
        return False
    if not raw.isdigit() or raw[0] == "0" or (raw[0] == "8" and len(raw) == 11):
        return True
    return bool(_PHONE_WORDS.search(text[max(0, start - 40) : start]))


def _looks_like_version(raw: str) -> bool:
    """Tell a version or build number from a dotted phone number.

    Dotted numbers with a one-digit group inside ("124.0.6367.118") are versions or builds,
    while dotted phone numbers group their digits in twos to fours ("415.555.0132").
    """
    groups = raw.lstrip("+").split(".")
    return (
        len(groups) > 2
        and re.fullmatch(r"[0-9.]+", raw.lstrip("+")) is not None
        and any(len(g) == 1 for g in groups[1:])
    )


def valid_in(number: str, region: str) -> bool:
    """Return whether number parses as a valid phone number of region."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False
