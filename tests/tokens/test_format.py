"""The enrt_ token format: shape, checksum, and the hash that is all the database keeps."""

import hashlib
import re
import zlib

import pytest

from tokens.format import (
    PREFIX,
    TOKEN_LENGTH,
    display_hint,
    hash_token,
    is_well_formed,
    make_token,
)

SHAPE = re.compile(r"enrt_[0-9A-F]{64}")


def with_checksum(random_hex: str) -> str:
    raw = bytes.fromhex(random_hex)
    return PREFIX + (raw + zlib.crc32(raw).to_bytes(4, "big")).hex().upper()


def test_a_token_is_the_prefix_and_64_upper_case_hex_digits():
    token = make_token()
    assert token.startswith("enrt_")
    assert len(token) == TOKEN_LENGTH == 69
    assert SHAPE.fullmatch(token)
    assert is_well_formed(token)


def test_its_last_four_bytes_are_the_crc32_of_the_first_28():
    raw = bytes.fromhex(make_token()[5:])
    assert raw[28:] == zlib.crc32(raw[:28]).to_bytes(4, "big")


def test_tokens_do_not_repeat():
    assert len({make_token() for _ in range(1000)}) == 1000


def test_a_known_token_with_a_valid_checksum_is_well_formed():
    assert is_well_formed(with_checksum("00" * 28))
    assert is_well_formed(with_checksum("AB" * 28))


def test_every_single_character_typo_is_caught_by_the_checksum():
    token = make_token()
    for position in range(5, TOKEN_LENGTH):
        for digit in "0123456789ABCDEF":
            if digit == token[position]:
                continue
            typo = token[:position] + digit + token[position + 1 :]
            assert not is_well_formed(typo), (position, digit)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.lower(),
        lambda t: t[:5] + t[5:].lower(),
        lambda t: "ENRT_" + t[5:],
        lambda t: "enrt-" + t[5:],
        lambda t: t[5:],
        lambda t: t[:-1],
        lambda t: t + "0",
        lambda t: " " + t,
        lambda t: t + "\n",
        lambda t: t[:40] + "G" + t[41:],
        lambda t: t[:40] + "\u0661" + t[41:],  # an Arabic-Indic digit, which \d would accept
        lambda t: "",
    ],
)
def test_a_mangled_token_is_not_well_formed(mangle):
    assert not is_well_formed(mangle(make_token()))


@pytest.mark.parametrize("value", [None, 42, b"enrt_" + b"0" * 64, ["enrt_"], object()])
def test_a_value_that_is_not_a_string_is_not_well_formed(value):
    assert not is_well_formed(value)


def test_the_stored_hash_is_sha256_in_lower_case_hex():
    token = make_token()
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(token))


def test_the_display_hint_is_the_last_four_characters():
    token = make_token()
    assert display_hint(token) == token[-4:]
