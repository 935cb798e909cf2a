"""Global ids: the codec (db.global_ids) and the id policy (resolvers.ids).

An id that is not base64 of "Type:key" is BAD_USER_INPUT; a well-formed id naming anything
other than a key of the expected type is None ("not found").
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

import pytest

from db.catalog import Category, Product
from db.global_ids import GlobalId, decode_global_id, encode_global_id
from resolvers.errors import BadUserInput
from resolvers.ids import MAX_KEY_DIGITS, key_of, typed_key_of, uuid_key_of


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


MALFORMED = [
    pytest.param("", id="empty"),
    pytest.param("not an id", id="not-base64"),
    pytest.param("UHJvZHVjdDoxMg", id="missing-padding"),
    pytest.param("UHJvZHVjdDoxMg=", id="short-padding"),
    pytest.param("UHJvZHVjdDox" + "é", id="non-ascii"),
    pytest.param("ÜHJvZHVjdDox", id="non-ascii-first"),
    pytest.param(_b64(b"Product"), id="no-colon"),
    pytest.param(_b64(b":1"), id="empty-type"),
    pytest.param(_b64(b"\xffProduct:1"), id="invalid-utf8"),
    pytest.param(_b64(b"Product:\xc3"), id="truncated-utf8"),
]

LOOKUPS: list[Callable[[str], object]] = [
    lambda global_id: key_of(global_id, "Product"),
    lambda global_id: uuid_key_of(global_id, "Session"),
    typed_key_of,
]


# --- the codec ----------------------------------------------------------------------------------


def test_encode_is_url_safe_base64_of_type_and_key() -> None:
    assert encode_global_id("Product", 1) == "UHJvZHVjdDox"
    assert encode_global_id("Product", 12) == "UHJvZHVjdDoxMg=="


def test_encode_uses_the_url_safe_alphabet() -> None:
    assert "+" in base64.b64encode(b"Tag:~~~").decode()  # the case this test is about
    global_id = encode_global_id("Tag", "~~~")
    assert "+" not in global_id and "/" not in global_id
    assert decode_global_id(global_id) == ("Tag", "~~~")


@pytest.mark.parametrize(
    ("type_name", "key"),
    [
        ("Product", 1),
        ("Category", 0),
        ("Product", 10**MAX_KEY_DIGITS - 1),
        ("Session", uuid.UUID("12345678-1234-5678-1234-567812345678")),
        ("Review", "key:with:colons"),
        ("Ünïcode", "ключ"),
    ],
)
def test_decode_inverts_encode(type_name: str, key: object) -> None:
    assert decode_global_id(encode_global_id(type_name, key)) == (type_name, str(key))


def test_decode_keeps_an_empty_key() -> None:
    assert decode_global_id(_b64(b"Product:")) == ("Product", "")


@pytest.mark.parametrize("global_id", MALFORMED)
def test_decode_returns_none_for_malformed_id(global_id: str) -> None:
    assert decode_global_id(global_id) is None


@pytest.mark.parametrize("global_id", ["UHJvZHVjdDox!!", "UHJv.ZHVjdDox", "UHJv ZHVjdDox"])
def test_decode_refuses_characters_outside_the_url_safe_alphabet(global_id: str) -> None:
    # Each is "UHJvZHVjdDox" (Product:1) with junk mixed in: not base64, so not an id.
    assert decode_global_id(global_id) is None


def test_global_id_mixin_encodes_node_type_and_id() -> None:
    assert Product(id=7).global_id == encode_global_id("Product", 7)
    assert Category(id=7).global_id == encode_global_id("Category", 7)


def test_global_id_mixin_works_on_any_class_with_node_type_and_id() -> None:
    class Thing(GlobalId):
        node_type = "Thing"

        def __init__(self, id: int) -> None:
            self.id = id

    assert decode_global_id(Thing(42).global_id) == ("Thing", "42")


# --- the id policy ------------------------------------------------------------------------------


@pytest.mark.parametrize("lookup", LOOKUPS, ids=["key_of", "uuid_key_of", "typed_key_of"])
@pytest.mark.parametrize("global_id", MALFORMED)
def test_malformed_id_is_bad_user_input(global_id: str, lookup: Callable[[str], object]) -> None:
    with pytest.raises(BadUserInput) as raised:
        lookup(global_id)
    assert raised.value.extensions == {"code": "BAD_USER_INPUT"}
    assert raised.value.message == f"{global_id!r} is not a valid id."


def test_key_of_round_trips_an_integer_key() -> None:
    assert key_of(encode_global_id("Product", 42), "Product") == 42


def test_key_of_accepts_the_longest_key() -> None:
    longest = 10**MAX_KEY_DIGITS - 1
    assert key_of(encode_global_id("Product", longest), "Product") == longest


def test_key_of_returns_none_for_another_type() -> None:
    assert key_of(encode_global_id("Category", 1), "Product") is None


def test_key_of_type_comparison_is_exact() -> None:
    assert key_of(encode_global_id("product", 1), "Product") is None


@pytest.mark.parametrize(
    "key",
    ["", "abc", "-1", "+1", "1.0", " 1", "1 ", "0x1", "1e3", "1_000", "1:2", "1" * 19],
)
def test_key_of_returns_none_for_a_key_that_is_not_a_bigint(key: str) -> None:
    assert key_of(encode_global_id("Product", key), "Product") is None


@pytest.mark.parametrize("key", ["²", "①", "1²"])
def test_key_of_returns_none_for_digits_int_cannot_read(key: str) -> None:
    # str.isdigit() accepts superscripts and circled digits; int() does not.
    assert key_of(encode_global_id("Product", key), "Product") is None


def test_empty_key_decodes_but_names_no_product() -> None:
    global_id = _b64(b"Product:")
    assert decode_global_id(global_id) == ("Product", "")
    assert key_of(global_id, "Product") is None
    assert typed_key_of(global_id) == ("Product", None)


def test_uuid_key_of_round_trips_a_session_id() -> None:
    key = uuid.uuid4()
    assert uuid_key_of(encode_global_id("Session", key), "Session") == key


def test_uuid_key_of_returns_none_for_another_type() -> None:
    assert uuid_key_of(encode_global_id("Product", uuid.uuid4()), "Session") is None


@pytest.mark.parametrize("key", ["", "1", "not-a-uuid", "12345678-1234-5678-1234-56781234567g"])
def test_uuid_key_of_returns_none_for_a_key_that_is_not_a_uuid(key: str) -> None:
    assert uuid_key_of(encode_global_id("Session", key), "Session") is None


def test_typed_key_of_gives_type_and_integer_key() -> None:
    assert typed_key_of(encode_global_id("Category", 9)) == ("Category", 9)


@pytest.mark.parametrize("key", ["abc", "1" * 19, str(uuid.UUID(int=1))])
def test_typed_key_of_gives_the_type_without_a_key_for_a_non_integer_key(key: str) -> None:
    assert typed_key_of(encode_global_id("Session", key)) == ("Session", None)


def test_typed_key_of_gives_no_key_for_digits_int_cannot_read() -> None:
    assert typed_key_of(encode_global_id("Product", "²")) == ("Product", None)


@pytest.mark.parametrize("key", ["007", "0012", "١٢", "+1", " 1", "1 "])
def test_each_row_has_one_id_spelling(key: str) -> None:
    """Leading zeros, other scripts' digits and signs would be second ids for the same row."""
    assert key_of(encode_global_id("Product", key), "Product") is None


def test_a_session_id_has_one_spelling() -> None:
    session = uuid.uuid4()
    for spelling in (str(session).upper(), session.hex, f"{{{session}}}"):
        assert uuid_key_of(encode_global_id("Session", spelling), "Session") is None
