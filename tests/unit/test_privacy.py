"""Behaviour of mask / restore / the vault: placeholders are typed, consistent and reversible."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from bot.core.privacy import (
    PLACEHOLDER_RE,
    PersonalItem,
    Vault,
    contains_personal_data,
    find_personal_data,
    mask,
    regions_for,
    restore,
)

CORPUS = Path(__file__).parent.parent / "fixtures" / "pii_corpus.jsonl"
CASES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
POSITIVE = [c for c in CASES if c["entities"]]

BOT_TOKEN = "7412583690:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
SK_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_restore_undoes_mask(case: dict) -> None:
    masked, vault = mask(case["text"])
    assert restore(masked, vault) == case["text"]


@pytest.mark.parametrize("case", POSITIVE, ids=[c["id"] for c in POSITIVE])
def test_masked_text_holds_no_raw_value(case: dict) -> None:
    masked, _ = mask(case["text"])
    assert [e["value"] for e in case["entities"] if e["value"] in masked] == []
    assert PLACEHOLDER_RE.search(masked)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +1 415-555-0132", "call [PHONE_1]"),
        ("a@example.com, b@example.com, a@example.com", "[EMAIL_1], [EMAIL_2], [EMAIL_1]"),
        (
            "+44 20 7946 0958 or x@example.org or +7 912 345-67-89",
            "[PHONE_1] or [EMAIL_1] or [PHONE_2]",
        ),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN [IBAN_1]"),
        ("card 4111 1111 1111 1111 cvv 123", "card [CARD_1] cvv 123"),
        ("身份证11010519491231002X", "身份证[ID_1]"),
        ("ssh 192.168.1.10:22 or 2001:db8::1", "ssh [IP_1]:22 or [IP_2]"),
        (f"token {SK_KEY}", "token [SECRET_1]"),
        ("https://u:p4ss@db.example.com/x", "[URL_1]"),
        (
            "nothing here on 12.03.2024 at 14:30 for $1,299.99",
            "nothing here on 12.03.2024 at 14:30 for $1,299.99",
        ),
    ],
)
def test_mask_numbers_placeholders_per_kind(text: str, expected: str) -> None:
    assert mask(text)[0] == expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("my number is +1 415-555-0132", "again: +1 415-555-0132", "again: [PHONE_1]"),
        ("my number is +1 415-555-0132", "or (415) 555-0132", "or [PHONE_1]"),
        ("my number is +1 415-555-0132", "new one +1 415-555-0178", "new one [PHONE_2]"),
        ("mail Anna@Example.com", "mail anna@example.com", "mail [EMAIL_1]"),
        ("card 4111 1111 1111 1111", "card 4111-1111-1111-1111", "card [CARD_1]"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN DE89370400440532013000", "IBAN [IBAN_1]"),
        ("ip 2001:db8::1", "ip 2001:0db8:0:0:0:0:0:1", "ip [IP_1]"),
        ("my number is +1 415-555-0132", "mail a@example.com", "mail [EMAIL_1]"),
    ],
)
def test_vault_carried_between_messages_keeps_placeholders(
    first: str, second: str, expected: str
) -> None:
    _, vault = mask(first, regions=("US",))
    assert mask(second, vault, regions=("US",))[0] == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("+7 916 123-45-67", "8 (916) 123-45-67"),
        ("8 (916) 123-45-67", "+7 916 123-45-67"),
        ("+49 (0)89 12345678", "0049 89 12345678"),
        ("+86 138 0013 8000", "13800138000"),
        ("plus four four two zero seven nine four six zero nine five eight", "+44 20 7946 0958"),
        ("+44 20·7946·0958", "020 7946 0958"),
    ],
)
def test_national_and_international_spellings_share_a_placeholder(first: str, second: str) -> None:
    _, vault = mask(f"call {first}")
    assert mask(f"call {second}", vault) == ("call [PHONE_1]", vault)


def test_two_numbers_said_in_words_get_two_placeholders() -> None:
    text = (
        "phone plus three four six one two three four five six seven eight"
        " or phone four one five five five five zero one three two"
    )
    masked, vault = mask(text, regions=("US",))
    assert masked == "phone [PHONE_1] or phone [PHONE_2]"
    assert len(vault) == 2


def test_an_internationalised_address_in_other_letter_case_is_the_same_address() -> None:
    _, vault = mask("schreib an Jürgen.Müller@Bäckerei.de")
    assert mask("oder jürgen.müller@bäckerei.de", vault) == ("oder [EMAIL_1]", vault)


def test_mask_leaves_the_given_vault_unchanged() -> None:
    vault = Vault((("[PHONE_1]", "+1 415-555-0132"),))
    _, extended = mask("a@example.com", vault)
    assert vault.items == (("[PHONE_1]", "+1 415-555-0132"),)
    assert len(extended) == 2


def test_mask_without_personal_data_returns_the_same_vault() -> None:
    vault = Vault((("[EMAIL_1]", "a@example.com"),))
    assert mask("see you at 14:30", vault) == ("see you at 14:30", vault)


@pytest.mark.parametrize(
    ("answer", "restored"),
    [
        ("I'll call [PHONE_1].", "I'll call +1 415-555-0132."),
        ("I'll call [ PHONE_1 ].", "I'll call +1 415-555-0132."),
        ("I'll call PHONE_1.", "I'll call +1 415-555-0132."),
        ("我会打【PHONE_1】", "我会打+1 415-555-0132"),
        ("I'll call [phone_1].", "I'll call +1 415-555-0132."),
        ("Not mine: [PHONE_2], [EMAIL_1], [NAME_1]", "Not mine: [PHONE_2], [EMAIL_1], [NAME_1]"),
        ("MYPHONE_1 and PHONE_12", "MYPHONE_1 and PHONE_12"),
    ],
)
def test_restore_replaces_only_this_vaults_placeholders(answer: str, restored: str) -> None:
    vault = Vault((("[PHONE_1]", "+1 415-555-0132"),))
    assert restore(answer, vault) == restored


def test_restore_leaves_another_users_placeholder_alone() -> None:
    _, mine = mask("mail me at me@example.com")
    _, theirs = mask("call +1 415-555-0132")
    assert restore("[PHONE_1] and [EMAIL_1]", mine) == "[PHONE_1] and me@example.com"
    assert restore("[PHONE_1] and [EMAIL_1]", theirs) == "+1 415-555-0132 and [EMAIL_1]"


def test_vault_json_round_trip_keeps_order_and_unicode() -> None:
    text = "手机13800138000, 邮箱 li@example.cn, IP 10.0.0.1, IBAN DE89370400440532013000"
    _, vault = mask(text)
    assert Vault.from_json(vault.to_json()) == vault
    assert [p for p, _ in vault.items] == ["[PHONE_1]", "[EMAIL_1]", "[IP_1]", "[IBAN_1]"]


@pytest.mark.parametrize(
    "payload",
    [
        '{"[PHONE_1]": "x"}',
        '[["[PHONE_1]"]]',
        '[["PHONE_1", "x"]]',
        '[["[PHONE_1]", 5]]',
        "not json",
    ],
)
def test_vault_from_json_rejects_anything_else(payload: str) -> None:
    with pytest.raises(ValueError):
        Vault.from_json(payload)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (f"https://api.example.com/x?email=a@b.com&token={SK_KEY}", ["url"]),
        ("postgres://bob:s3cret@bob@example.com:5432/db", ["url"]),
        (f"https://api.telegram.org/bot{BOT_TOKEN}/getMe", ["secret"]),
        ("https://example.com/docs?page=2 by docs@example.com", ["email"]),
        ("IBAN GB82WEST12345698765432 card 4111111111111111", ["iban", "card"]),
        ("11010519491231002X 4111111111111111", ["cn_id", "card"]),
        ("http://admin:hunter2@192.168.1.1/setup", ["url"]),
        ("+86 138 0013 8000", ["phone"]),
    ],
)
def test_overlapping_candidates_yield_the_longest_item(text: str, kinds: list[str]) -> None:
    items = find_personal_data(text)
    assert [i.kind for i in items] == kinds
    assert all(a.end <= b.start for a, b in itertools.pairwise(items))


def test_items_carry_exact_spans() -> None:
    text = "mail a@example.com now"
    assert find_personal_data(text) == [PersonalItem("email", 5, 18, "a@example.com")]


@pytest.mark.parametrize(
    ("text", "regions", "expected"),
    [
        ("06 12 34 56 78", ("FR",), True),
        ("06 12 34 56 78", ("US",), False),
        ("+33 6 12 34 56 78", ("US",), True),
        ("13800138000", ("US",), True),
        ("Python 3.11.7, order #4471-2231, 2024-03-12", ("US", "DE", "RU"), False),
    ],
)
def test_contains_personal_data_uses_regions(
    text: str, regions: tuple[str, ...], expected: bool
) -> None:
    assert contains_personal_data(text, regions=regions) is expected


@pytest.mark.parametrize(
    ("language", "first"),
    [
        ("ru", ("RU",)),
        ("zh", ("CN",)),
        ("zh-hans", ("CN",)),
        ("de", ("DE", "AT", "CH")),
        ("es", ("ES", "MX")),
        ("en", ("US", "GB")),
        ("pt-br", ("US",)),
        (None, ("US",)),
    ],
)
def test_regions_for_puts_the_languages_countries_first(
    language: str | None, first: tuple[str, ...]
) -> None:
    regions = regions_for(language)
    assert regions[: len(first)] == first
    assert {"US", "GB", "DE", "ES", "RU", "CN", "FR"} <= set(regions)
    assert len(regions) == len(set(regions))


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("[PHONE_1]", True),
        ("[SECRET_12]", True),
        ("[ID_3]", True),
        ("[PHONE_0]", False),
        ("[NAME_1]", False),
        ("PHONE_1", False),
        ("[phone_1]", False),
    ],
)
def test_placeholder_pattern_matches_only_our_placeholders(text: str, matches: bool) -> None:
    assert bool(PLACEHOLDER_RE.fullmatch(text)) is matches
