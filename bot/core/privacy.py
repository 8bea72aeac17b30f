"""Personal data masking: typed placeholders, consistent within a conversation (pure).

`mask` replaces phone numbers, e-mails, card numbers, IBANs, Chinese resident IDs, IP addresses,
secrets and credential-carrying URLs with placeholders such as ``[PHONE_1]`` and returns the
vault that maps them back; `restore` puts the user's values back into the model's answer.
The vault is a value: callers keep it with the conversation and pass it in again.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from bot.core.language import normalize_language
from bot.core.pii_recognizers import (
    RANK,
    PersonalItem,
    find_cards,
    find_cn_ids,
    find_emails,
    find_ibans,
    find_ips,
    find_phones,
    find_secrets,
    find_urls,
    phone_readable,
)

__all__ = [
    "DEFAULT_REGIONS",
    "PLACEHOLDER_RE",
    "TAGS",
    "PersonalItem",
    "Vault",
    "contains_personal_data",
    "find_personal_data",
    "mask",
    "regions_for",
    "restore",
]

DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "ES", "RU", "CN", "FR")

# The placeholder tag for each kind of personal data.
TAGS = {
    "phone": "PHONE",
    "email": "EMAIL",
    "card": "CARD",
    "iban": "IBAN",
    "cn_id": "ID",
    "ip": "IP",
    "secret": "SECRET",
    "url": "URL",
}
_TAG_ALT = "|".join(TAGS.values())

PLACEHOLDER_RE = re.compile(rf"\[({_TAG_ALT})_([1-9][0-9]*)\]")
# What restore accepts: the exact form, brackets with spaces or full-width brackets, or a bare tag.
_RESTORE_RE = re.compile(
    rf"[\[【\uff3b]\s*(?P<b>(?i:{_TAG_ALT})_[1-9][0-9]*)\s*[\]】\uff3d]"
    rf"|\b(?P<bare>(?:{_TAG_ALT})_[1-9][0-9]*)\b"
)

_REGIONS_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "en": ("US", "GB", "CA", "AU", "IE"),
    "ru": ("RU", "KZ", "BY", "UA"),
    "zh": ("CN", "HK", "TW", "SG"),
    "de": ("DE", "AT", "CH"),
    "es": ("ES", "MX", "AR", "CO"),
    "fr": ("FR", "BE", "CH"),
}


def regions_for(language_code: str | None) -> tuple[str, ...]:
    """Return phone regions to try for a Telegram language code: its countries, then defaults."""
    language = normalize_language(language_code) or ""
    first = _REGIONS_BY_LANGUAGE.get(language, ())
    return first + tuple(r for r in DEFAULT_REGIONS if r not in first)


def find_personal_data(
    text: str, *, regions: Sequence[str] = DEFAULT_REGIONS
) -> list[PersonalItem]:
    """Return the personal data in text: non-overlapping, sorted, the longest candidate winning."""
    candidates: list[PersonalItem] = []
    for finder in (find_urls, find_secrets, find_emails, find_ibans, find_cn_ids, find_cards):
        candidates.extend(finder(text))
    candidates.extend(find_ips(text))
    candidates.extend(find_phones(text, regions))
    chosen: list[PersonalItem] = []
    for item in sorted(candidates, key=lambda c: (c.start - c.end, RANK[c.kind], c.start)):
        if all(item.end <= c.start or item.start >= c.end for c in chosen):
            chosen.append(item)
    return sorted(chosen, key=lambda c: c.start)


def contains_personal_data(text: str, *, regions: Sequence[str] = DEFAULT_REGIONS) -> bool:
    """Return whether text holds any personal data that mask() would replace."""
    return bool(find_personal_data(text, regions=regions))


# Memoised because the vault compares each new number with every number it holds.
@lru_cache(maxsize=4096)
def _phone_keys(value: str, regions: tuple[str, ...]) -> frozenset[str]:
    """Return every E.164 reading of value that some region makes valid, else its digits."""
    value = phone_readable(value)
    compact = re.sub(r"[^0-9+]", "", value)
    if compact.startswith("00"):
        value = compact = "+" + compact[2:]
    keys = set()
    for region in ("ZZ",) if compact.startswith("+") else (*regions, "CN"):
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            keys.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return frozenset(keys or {compact})


def _ip_key(value: str) -> str:
    return ipaddress.ip_address(value).compressed


_NORMALISERS: dict[str, Callable[[str], str]] = {
    "email": str.lower,
    "card": lambda v: re.sub(r"[^0-9]", "", v),
    "iban": lambda v: re.sub(r"[^0-9A-Za-z]", "", v).upper(),
    "cn_id": lambda v: re.sub(r"[^0-9Xx]", "", v).upper(),
    "ip": _ip_key,
}


def normalise(value: str, kind: str, regions: Sequence[str] = DEFAULT_REGIONS) -> frozenset[str]:
    """Return the forms of value; two spellings are the same value when their forms meet.

    A national phone number can be valid in several regions ("8 916 ..." in Russia and
    Germany), so it has one E.164 form per region; every other kind has a single form.
    """
    if kind == "phone":
        return _phone_keys(value, tuple(regions))
    try:
        return frozenset({_NORMALISERS.get(kind, str.strip)(value)})
    except ValueError:  # an unparsable IP written into a vault by hand: compare as written
        return frozenset({value})


@dataclass(frozen=True)
class Vault:
    """Ordered (placeholder, value) pairs of one conversation; immutable, extended by copying.

    `owners` pairs each placeholder with the members who wrote its value: a group's members
    share one vault (so they never share a placeholder for different values), yet each one's
    values are restored only in the answers to that member. A placeholder without an owner
    (a vault written before owners existed) is restored for everyone in the conversation.
    """

    items: tuple[tuple[str, str], ...] = ()
    owners: tuple[tuple[str, str], ...] = ()

    def __len__(self) -> int:
        """Return how many values the vault holds."""
        return len(self.items)

    def placeholder_for(
        self,
        value: str,
        kind: str,
        *,
        regions: Sequence[str] = DEFAULT_REGIONS,
        owner: str | None = None,
    ) -> tuple[str, Vault]:
        """Return the placeholder for value (reused when known) and the vault that holds it."""
        tag = TAGS[kind]
        keys = normalise(value, kind, regions)
        count = 0
        for placeholder, known in self.items:
            if _tag_of(placeholder) == tag:
                count += 1
                if keys & normalise(known, kind, regions):
                    return placeholder, self._owned_by(placeholder, owner)
        placeholder = f"[{tag}_{count + 1}]"
        return placeholder, Vault((*self.items, (placeholder, value)), self.owners)._owned_by(
            placeholder, owner
        )

    def _owned_by(self, placeholder: str, owner: str | None) -> Vault:
        if owner is None or (placeholder, owner) in self.owners:
            return self
        return Vault(self.items, (*self.owners, (placeholder, owner)))

    def lookup(self, owner: str | None = None) -> dict[str, str]:
        """Return a mapping from placeholder to value: all of them, or those `owner` may see."""
        if owner is None:
            return dict(self.items)
        owned = {p for p, o in self.owners}
        mine = {p for p, o in self.owners if o == owner}
        return {p: v for p, v in self.items if p in mine or p not in owned}

    def to_json(self) -> str:
        """Return the vault as JSON: [placeholder, value] pairs, with their owners when known."""
        pairs = [list(pair) for pair in self.items]
        if not self.owners:
            return json.dumps(pairs, ensure_ascii=False)
        owners = [list(pair) for pair in self.owners]
        return json.dumps({"items": pairs, "owners": owners}, ensure_ascii=False)

    @classmethod
    def from_json(cls, s: str) -> Vault:
        """Build a vault from to_json() output; raise ValueError on anything else."""
        data: object = json.loads(s)
        owners: object = []
        if isinstance(data, dict):
            owners = data.get("owners", [])
            data = data.get("items")
        if not isinstance(data, list) or not isinstance(owners, list):
            raise ValueError("vault JSON must be a list of [placeholder, value] pairs")
        items = tuple(_checked_pair(pair) for pair in data)
        return cls(items, tuple(_checked_owner(pair) for pair in owners))


def _tag_of(placeholder: str) -> str:
    return placeholder[1:].split("_", 1)[0]


def _checked_pair(pair: object) -> tuple[str, str]:
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
        raise ValueError("vault entry must be a [placeholder, value] pair of strings")
    placeholder, value = pair
    if not PLACEHOLDER_RE.fullmatch(placeholder):
        raise ValueError("vault entry has a malformed placeholder")
    return placeholder, value


def _checked_owner(pair: object) -> tuple[str, str]:
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
        raise ValueError("vault owner entry must be a [placeholder, owner] pair of strings")
    return pair[0], pair[1]


def mask(
    text: str,
    vault: Vault = Vault(),
    *,
    regions: Sequence[str] = DEFAULT_REGIONS,
    owner: str | None = None,
    keep: Collection[str] = (),
) -> tuple[str, Vault]:
    """Replace personal data in text with placeholders; return the text and the extended vault.

    `owner` (the member who wrote `text`) is recorded with each value, for restore(). Values in
    `keep` stay as written (the logs keep the bot's own service addresses).
    """
    parts: list[str] = []
    position = 0
    for item in find_personal_data(text, regions=regions):
        if item.value in keep:
            continue
        placeholder, vault = vault.placeholder_for(
            item.value, item.kind, regions=regions, owner=owner
        )
        parts += [text[position : item.start], placeholder]
        position = item.end
    parts.append(text[position:])
    return "".join(parts), vault


def restore(text: str, vault: Vault, *, owner: str | None = None) -> str:
    """Put the vault's values back in place of its placeholders; leave unknown ones alone.

    With `owner`, only that member's values (and unowned ones) come back; another member's
    placeholder stays a placeholder.
    """
    values = vault.lookup(owner)

    def replace(m: re.Match[str]) -> str:
        name = (m.group("b") or m.group("bare")).upper()
        return values.get(f"[{name}]", m.group())

    return _RESTORE_RE.sub(replace, text)
