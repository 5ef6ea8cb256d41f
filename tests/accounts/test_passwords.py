from __future__ import annotations

import pytest

from dialer.accounts.passwords import check_new_password, hash_password, verify_password
from dialer.errors import UserError


def test_hash_is_argon2id_and_salted() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$")
    assert first != second
    assert verify_password(first, "correct horse")
    assert verify_password(second, "correct horse")


@pytest.mark.parametrize(
    ("stored", "password"),
    [
        ("right", "wrong"),
        ("right", ""),
        ("right", "Right"),
    ],
)
def test_wrong_password_is_false(stored: str, password: str) -> None:
    assert verify_password(hash_password(stored), password) is False


@pytest.mark.parametrize("bad_hash", ["", "plain", "$argon2id$v=19$garbage", "$2b$12$abc"])
def test_invalid_hash_is_false_not_an_error(bad_hash: str) -> None:
    assert verify_password(bad_hash, "whatever") is False


@pytest.mark.parametrize(
    ("password", "ok"),
    [("", False), ("1234567", False), ("12345678", True), ("пароль-длинный", True)],
)
def test_check_new_password(password: str, ok: bool) -> None:
    if ok:
        check_new_password(password)
        return
    with pytest.raises(UserError, match=r"^password too short: use at least 8 characters$"):
        check_new_password(password)
