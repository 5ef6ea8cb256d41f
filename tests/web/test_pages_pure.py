"""Pure helpers of the console: where a sign-in may redirect, which language is shown."""

from __future__ import annotations

import pytest

from dialer.web.console.pages import local_path
from dialer.web.console.words import pick_language, translate


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("/", True),
        ("/campaigns/order-ready", True),
        ("/campaigns/x?phone_column=%D0%A2", True),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("/a\\b", False),
        ("https://evil.example/", False),
        ("javascript:alert(1)", False),
        ("", False),
    ],
)
def test_sign_in_redirects_only_to_this_site(target: str, allowed: bool) -> None:
    assert local_path(target) is allowed


@pytest.mark.parametrize(
    ("cookie", "accept", "shown"),
    [
        (None, "ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        (None, "en-US,en;q=0.9,ru;q=0.8", "en"),
        (None, "", "en"),
        ("en", "ru-RU", "en"),
        ("ru", "en-US", "ru"),
        ("de", "ru", "ru"),
    ],
)
def test_language(cookie: str | None, accept: str, shown: str) -> None:
    assert pick_language(cookie, accept) == shown


def test_accessible_names_have_russian_labels() -> None:
    assert translate("Sign in", "ru") == "Войти"
    assert translate("Sign in", "en") == "Sign in"
    assert translate("no such words", "ru") == "no such words"
