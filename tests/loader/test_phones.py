"""Phone normalisation: every input form and every reject reason, as tables."""

from __future__ import annotations

import phonenumbers
import pytest

from dialer.loader.phones import (
    Phone,
    PhoneReject,
    RejectReason,
    normalize_phone,
    normalize_phone_facts,
    normalize_phone_reference,
    resolve_timezone,
)

MOSCOW_MOBILE = "79161234567"


@pytest.mark.parametrize(
    "raw",
    [
        "+7 (916) 123-45-67",
        "8 916 123 45 67",
        "89161234567",
        "79161234567",
        "9161234567",
        "7-916-123-45-67",
        "8(916)123-45-67",
        "+7 916 1234567 доб. 123",
        "+7 916 1234567 доб 123",
        "8 916 123-45-67, доб. 12",
        "+7 916 123 45 67 ext. 5",
        "+7 916 123 45 67 x5",
        "+7 916 123 45 67 #5",
        "8\u00a0916\u00a0123\u00a045\u00a067",  # NBSP
        "8\u202f916\u202f123\u202f45\u202f67",  # narrow NBSP
        "8\u2009916\u2007123\u300045\u200a67",  # thin, figure, ideographic, hair spaces
        "8\u2010916\u2011123\u201345\u201467",  # hyphen, non-breaking hyphen, en and em dash
        "8\u2212916\u2212123\u221245\u221267",  # minus sign
        "8.916.123.45.67",
        "+7 [916] 123 45 67",
        "tel:+79161234567",
        "TEL:+7-916-123-45-67",
        "'89161234567",
        "'+7 916 123-45-67",
        "79161234567.0",
        "89161234567.00",
        "  89161234567  ",
        "\t+79161234567\n",
        "\ufeff89161234567",
        "8\u200b916\u200b1234567",  # zero-width spaces
        "７９１６１２３４５６７",  # full-width digits
        "7,9161234567E+10",  # scientific notation with every digit: recovered
        "7.9161234567e10",
        "7.9161234567E+10",
    ],
)
def test_forms_of_one_mobile_number(raw: str) -> None:
    result = normalize_phone(raw)
    assert isinstance(result, Phone), result
    assert result.e164 == MOSCOW_MOBILE
    assert result.region == "RU"
    assert result.is_mobile
    assert "Europe/Moscow" in result.timezones
    assert "Etc/Unknown" not in result.timezones
    assert result == normalize_phone_reference(raw)


@pytest.mark.parametrize(
    ("raw", "e164", "region", "mobile", "zones"),
    [
        ("+7 495 123-45-67", "74951234567", "RU", False, ("Europe/Moscow",)),
        ("8 (383) 212-34-56", "73832123456", "RU", False, ("Asia/Novosibirsk",)),
        ("84232123456", "74232123456", "RU", False, ("Asia/Vladivostok",)),
        ("8 800 555-35-35", "78005553535", "RU", False, None),
        ("+7 701 234 56 78", "77012345678", "KZ", True, None),
        ("8 701 234 56 78", "77012345678", "KZ", True, None),
        ("+7 7172 12 34 56", "77172123456", "KZ", False, ("Asia/Almaty",)),
        ("+375 29 123-45-67", "375291234567", "BY", True, ("Europe/Moscow",)),
        ("+49 151 12345678", "4915112345678", "DE", True, ("Europe/Berlin",)),
        ("8 10 49 151 12345678", "4915112345678", "DE", True, ("Europe/Berlin",)),
    ],
)
def test_numbers_of_other_kinds(
    raw: str, e164: str, region: str, mobile: bool, zones: tuple[str, ...] | None
) -> None:
    everywhere = frozenset({"RU", "KZ", "BY", "DE"})
    result = normalize_phone(raw, allowed_countries=everywhere)
    assert isinstance(result, Phone), result
    assert (result.e164, result.region, result.is_mobile) == (e164, region, mobile)
    if zones is not None:
        assert result.timezones == zones
    assert result == normalize_phone_reference(raw, allowed_countries=everywhere)


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        ("", RejectReason.EMPTY, "empty cell"),
        ("   ", RejectReason.EMPTY, "empty cell"),
        ("\u00a0", RejectReason.EMPTY, "empty cell"),
        ("-", RejectReason.EMPTY, "no digits"),
        ("—", RejectReason.EMPTY, "no digits"),
        ("( ) +", RejectReason.EMPTY, "no digits"),
        ("'", RejectReason.EMPTY, "empty cell"),
        ("позвоните мне", RejectReason.UNPARSEABLE, "not a phone number"),
        ("n/a", RejectReason.UNPARSEABLE, "not a phone number"),
        ("89161234567, 89031234567", RejectReason.UNPARSEABLE, "not a phone number"),
        ("+999 123 456 789", RejectReason.UNPARSEABLE, "unknown country code"),
        ("8 916 12", RejectReason.INVALID, "not a valid phone number (6 digits)"),
        ("8916123456", RejectReason.INVALID, "not a valid phone number (10 digits)"),
        ("891612345678", RejectReason.INVALID, "not a valid phone number (12 digits)"),
        ("+7 916 123 45 678", RejectReason.INVALID, "(12 digits)"),
        ("+7 000 123 45 67", RejectReason.INVALID, "(11 digits)"),
        ("7,91612E+10", RejectReason.SCIENTIFIC_NOTATION, "lost 5 of 11 digits"),
        ("7.91612E+10", RejectReason.SCIENTIFIC_NOTATION, "lost 5 of 11 digits"),
        ("7,91612345E+10", RejectReason.SCIENTIFIC_NOTATION, "lost 2 of 11 digits"),
        ("7,9161234E+10", RejectReason.SCIENTIFIC_NOTATION, "never guessed"),
        ("7E+10", RejectReason.SCIENTIFIC_NOTATION, "lost 10 of 11 digits"),
        ("7,91612345678E+10", RejectReason.SCIENTIFIC_NOTATION, "not a whole number"),
        ("7,9E-05", RejectReason.SCIENTIFIC_NOTATION, "not a whole number"),
        ("+375 29 123-45-67", RejectReason.COUNTRY_NOT_ALLOWED, "is a BY number; allowed: RU"),
        ("+49 151 12345678", RejectReason.COUNTRY_NOT_ALLOWED, "+4915112345678 is a DE"),
        ("+7 701 234 56 78", RejectReason.COUNTRY_NOT_ALLOWED, "+77012345678 is a KZ number"),
        ("87012345678", RejectReason.COUNTRY_NOT_ALLOWED, "is a KZ number"),
    ],
)
def test_rejects(raw: str, reason: RejectReason, detail: str) -> None:
    result = normalize_phone(raw)
    assert isinstance(result, PhoneReject), result
    assert result.reason is reason
    assert detail in result.detail
    assert result == normalize_phone_reference(raw)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("+7 495 123-45-67", "+74951234567 is a landline, not a mobile"),
        ("8 800 555 35 35", "+78005553535 is a toll-free number, not a mobile"),
        ("8 809 555 35 35", "is a premium-rate number"),
        ("+7 7172 12 34 56", "+77172123456 is a landline"),
    ],
)
def test_sms_campaigns_reject_numbers_that_are_not_mobile(raw: str, detail: str) -> None:
    result = normalize_phone(raw, allowed_countries=frozenset({"RU", "KZ"}), require_mobile=True)
    assert isinstance(result, PhoneReject), result
    assert result.reason is RejectReason.NOT_MOBILE
    assert detail in result.detail


def test_mobiles_pass_an_sms_campaign() -> None:
    result = normalize_phone("8 916 123 45 67", require_mobile=True)
    assert isinstance(result, Phone)
    assert result.e164 == MOSCOW_MOBILE


def test_kazakh_numbers_pass_when_kz_is_allowed() -> None:
    result = normalize_phone("+7 701 234 56 78", allowed_countries=frozenset({"RU", "KZ"}))
    assert isinstance(result, Phone)
    assert result.region == "KZ"


def test_no_country_allowed_rejects_everything_valid() -> None:
    result = normalize_phone(MOSCOW_MOBILE, allowed_countries=frozenset())
    assert result == PhoneReject(
        RejectReason.COUNTRY_NOT_ALLOWED, "+79161234567 is a RU number; allowed: none"
    )


@pytest.mark.parametrize(
    "raw",
    ["+7 (916) 123-45-67", "8 916 123 45 67", "+7 495 123-45-67", "+375 29 123-45-67"],
)
def test_e164_agrees_with_phonenumbers_on_inputs_it_reads_itself(raw: str) -> None:
    number = phonenumbers.parse(raw, "RU")
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    result = normalize_phone(raw, allowed_countries=frozenset({"RU", "BY"}))
    assert isinstance(result, Phone)
    assert "+" + result.e164 == expected


def _phone(zones: tuple[str, ...]) -> Phone:
    return Phone(e164="74951234567", region="RU", is_mobile=False, timezones=zones)


MOSCOW = ("Europe/Moscow",)
MANY = ("Asia/Yekaterinburg", "Europe/Moscow", "Europe/Samara")


@pytest.mark.parametrize(
    ("zones", "explicit", "expected"),
    [
        (MOSCOW, None, ("Europe/Moscow", MOSCOW)),
        (MOSCOW, "Asia/Tokyo", ("Asia/Tokyo", ("Asia/Tokyo",))),
        (MOSCOW, "  Asia/Tokyo ", ("Asia/Tokyo", ("Asia/Tokyo",))),
        (MOSCOW, "", ("Europe/Moscow", MOSCOW)),
        (MOSCOW, "MSK", ("Europe/Moscow", MOSCOW)),  # not an IANA name: ignored
        (MOSCOW, "Mars/Olympus", ("Europe/Moscow", MOSCOW)),
        (MOSCOW, "../../etc/passwd", ("Europe/Moscow", MOSCOW)),
        (MANY, None, ("Asia/Omsk", MANY)),
        (MANY, "Europe/Samara", ("Europe/Samara", ("Europe/Samara",))),
        ((), None, ("Asia/Omsk", ("Asia/Omsk",))),
        ((), "bogus", ("Asia/Omsk", ("Asia/Omsk",))),
    ],
)
def test_resolve_timezone(
    zones: tuple[str, ...], explicit: str | None, expected: tuple[str, tuple[str, ...]]
) -> None:
    assert resolve_timezone(_phone(zones), explicit, "Asia/Omsk") == expected


def test_a_russian_mobile_takes_the_default_zone_but_keeps_every_candidate() -> None:
    phone = normalize_phone("+7 916 123-45-67")
    assert isinstance(phone, Phone)
    zone, candidates = resolve_timezone(phone, None, "Europe/Moscow")
    assert zone == "Europe/Moscow"
    assert candidates == phone.timezones
    assert len(candidates) > 1


def test_numbers_of_one_prefix_share_their_facts() -> None:
    first = normalize_phone_facts("8 916 123-45-67")
    second = normalize_phone_facts("+79167654321")
    assert not isinstance(first, PhoneReject)
    assert not isinstance(second, PhoneReject)
    assert (first[0], second[0]) == ("79161234567", "79167654321")
    assert first[1] is second[1]
