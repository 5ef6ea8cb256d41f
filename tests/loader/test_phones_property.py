"""The fast path agrees with phonenumbers on every input, and the prefix table is exact.

Three layers: the metadata analysis behind the prefix table is checked against ``re`` itself;
every 3-digit +7 code (and every deciding sub-prefix of the deeper ones) is compared with the
reference deterministically; then hypothesis compares whole results on generated messy input.
"""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.loader import numbering
from dialer.loader.numbering import deciding_digits, pattern_branches, plus7_facts
from dialer.loader.phones import Phone, normalize_phone, normalize_phone_reference

ALLOWED_SETS = (frozenset({"RU"}), frozenset({"RU", "KZ"}), frozenset({"RU", "BY", "DE", "UA"}))


def _plus7_patterns() -> list[tuple[str, bool]]:
    """(pattern, is_prefix_match) for every RU and KZ description and leading-digits rule."""
    found: list[tuple[str, bool]] = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[7]:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        assert metadata is not None
        for desc in numbering._descriptions(metadata):
            if desc is not None and desc.national_number_pattern:
                found.append((desc.national_number_pattern, False))
        if metadata.leading_digits:
            found.append((metadata.leading_digits, True))
    return found


PATTERNS = _plus7_patterns()


@pytest.mark.parametrize(("pattern", "prefix_match"), PATTERNS)
def test_pattern_branches_match_exactly_what_the_regex_matches(
    pattern: str, prefix_match: bool
) -> None:
    branches = pattern_branches(pattern)
    compiled = re.compile(pattern)
    rng = random.Random(pattern)
    samples = [f"{rng.randrange(10**10):010d}" for _ in range(300)]
    for branch in branches:  # strings each branch matches, and one-digit mutations of them
        for _ in range(5):
            text = "".join(rng.choice(sorted(allowed)) for allowed in branch)
            samples.append(text)
            at = rng.randrange(len(text))
            samples.append(text[:at] + str(rng.randrange(10)) + text[at + 1 :])
            samples.append(text + str(rng.randrange(10)))
    for text in samples:
        if prefix_match:
            expected = compiled.match(text) is not None
            got = any(_branch_matches(branch, text[: len(branch)]) for branch in branches)
        else:
            expected = compiled.fullmatch(text) is not None
            got = any(_branch_matches(branch, text) for branch in branches)
        assert got == expected, text


def _branch_matches(branch: tuple[frozenset[str], ...], text: str) -> bool:
    return len(branch) == len(text) and all(c in s for c, s in zip(text, branch, strict=True))


@pytest.mark.parametrize(
    "pattern", ["\\d{2,3}", "(?:12)?", "[a-z]", "9(?:1", "\\w", "9.5", "9{x}", "[0-5"]
)
def test_pattern_branches_refuse_syntax_they_do_not_understand(pattern: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any message; the point is it stops
        pattern_branches(pattern)


def test_deciding_digits_cover_every_code_and_know_the_deep_ones() -> None:
    table = deciding_digits()
    assert sorted(table) == [str(code) for code in range(300, 1000)]
    assert all(3 <= digits <= 10 for digits in table.values())
    assert table["916"] == 3
    assert table["930"] == 6  # 930 00 05..., a mobile range carved at the 6th digit
    assert table["710"] == 5  # Kazakh landline areas


def _numbers_to_check() -> list[str]:
    """Two numbers per 3-digit code, plus one per deciding sub-prefix of the deep codes."""
    rng = random.Random(7)
    numbers = []
    for code, digits in deciding_digits().items():
        numbers.append(code + "0000000")
        numbers.append(code + f"{rng.randrange(10**7):07d}")
        for sub in range(10 ** (digits - 3) if digits > 3 else 0):
            head = code + str(sub).zfill(digits - 3)
            numbers.append(head + "".join(str(rng.randrange(10)) for _ in range(10 - digits)))
    return numbers


def test_every_plus7_code_agrees_with_phonenumbers() -> None:
    checked = 0
    for national in _numbers_to_check():
        for raw in ("8" + national, "+7 " + national, national):
            for allowed in ALLOWED_SETS[:2]:
                for mobile in (False, True):
                    fast = normalize_phone(raw, allowed_countries=allowed, require_mobile=mobile)
                    slow = normalize_phone_reference(
                        raw, allowed_countries=allowed, require_mobile=mobile
                    )
                    assert fast == slow, raw
                    checked += 1
    assert checked > 20_000


def test_cache_hits_and_misses_give_the_same_facts() -> None:
    numbering._facts_by_prefix.clear()
    first = plus7_facts("9301234567")
    again = plus7_facts("9301239999")  # same 6 deciding digits: from the cache
    assert first is again
    assert plus7_facts("9300051234").valid  # 930005: mobile
    assert not plus7_facts("9300041234").valid  # 930004: no such range


def test_plain_forms_never_reach_the_phonenumbers_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("slow path used")

    plus7_facts("9161234567")  # warm the cache: its misses may ask phonenumbers
    monkeypatch.setattr(phonenumbers, "parse", refuse)
    for raw in ["+7 (916) 123-45-67", "8 916 123 45 67", "9161234567", "79161234567.0"]:
        assert isinstance(normalize_phone(raw), Phone)
    assert isinstance(normalize_phone("8\u00a0916\u00a0123\u201145\u201167"), Phone)


# --- generated input -----------------------------------------------------------------------

SEPARATORS = ["", "", "", "", " ", "-", "(", ")", ".", "\u00a0", "\u202f", "\u2013", "\u2011"]
DEEP_CODES = sorted(code for code, digits in deciding_digits().items() if digits > 3)
COUNTRY_CODES = ["375", "380", "49", "1", "44", "998", "996", "992", "374", "995", "86", "90"]


def _digits(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


national_numbers = st.one_of(
    st.builds(lambda first, rest: first + rest, st.sampled_from("3456789"), _digits(9)),
    st.builds(lambda code, rest: code + rest, st.sampled_from(DEEP_CODES), _digits(7)),
    st.builds(lambda rest: "9" + rest, _digits(9)),
    st.builds(lambda rest: "800" + rest, _digits(7)),
    st.builds(lambda rest: "7" + rest, _digits(9)),
)
digit_strings = st.one_of(
    st.builds(
        lambda lead, n: lead + n, st.sampled_from(["", "7", "8", "+7", "+8"]), national_numbers
    ),
    st.builds(
        lambda lead, size, tail: lead + tail[:size],
        st.sampled_from(["7", "8", "9", "3", "4", "+7", "8800", ""]),
        st.integers(min_value=0, max_value=12),
        _digits(12),
    ),
    st.builds(
        lambda code, size, tail: "+" + code + tail[:size],
        st.sampled_from(COUNTRY_CODES),
        st.integers(min_value=4, max_value=12),
        _digits(12),
    ),
    st.text(alphabet="0123456789", max_size=16),
)


@st.composite
def messy_numbers(draw: st.DrawFn) -> str:
    """Digits with a few separators (or a lot), an Excel or tel: prefix, a suffix."""
    digits = draw(digit_strings)
    if draw(st.booleans()):  # sparse, like people type: "8 916 123-45-67"
        places = draw(st.lists(st.integers(0, len(digits)), max_size=5))
        gaps = [""] * (len(digits) + 1)
        for place in places:
            gaps[place] += draw(st.sampled_from(SEPARATORS[4:]))
    else:  # dense punctuation soup
        gaps = draw(
            st.lists(
                st.sampled_from(SEPARATORS), min_size=len(digits) + 1, max_size=len(digits) + 1
            )
        )
    text = "".join(gap + char for gap, char in zip(gaps, digits, strict=False)) + gaps[-1]
    prefix = draw(st.sampled_from(["", "", "", " ", "'", "tel:", "\u00a0"]))
    suffix = draw(st.sampled_from(["", "", "", " ", ".0", ".00", " доб. 12", "\t"]))
    return prefix + text + suffix


TRICKY = [
    "7916123456.0",  # 10 digits + ".0": the .0 must go before the digits are counted
    "8916123456.0",
    "+7916123456.0",
    "79161234567.0",
    "7916123456 .0",
    "+7-8-800-555-35-35",
    "+7 8 916 123 45 67",
    "87 916 123 45 67",
    "7 0 916 123 45 6",
    "+ 7 916 123 45 67",
    "8 (800) 555-35-35 доб. 0",
    "7701234567",
    "8701234567",
    "77012345678",
    "+77012345678",
    "0079161234567",
    "810 7 916 123 45 67",
    "+7 930 005 12 34",
    "8 930 004 12 34",
]


@pytest.mark.parametrize("raw", TRICKY)
@pytest.mark.parametrize("require_mobile", [False, True])
def test_tricky_inputs_agree(raw: str, require_mobile: bool) -> None:
    for allowed in ALLOWED_SETS:
        fast = normalize_phone(raw, allowed_countries=allowed, require_mobile=require_mobile)
        slow = normalize_phone_reference(
            raw, allowed_countries=allowed, require_mobile=require_mobile
        )
        assert fast == slow


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=messy_numbers(),
    allowed=st.sampled_from(ALLOWED_SETS),
    require_mobile=st.booleans(),
)
def test_fast_path_equals_phonenumbers(
    raw: str, allowed: frozenset[str], require_mobile: bool
) -> None:
    fast = normalize_phone(raw, allowed_countries=allowed, require_mobile=require_mobile)
    slow = normalize_phone_reference(raw, allowed_countries=allowed, require_mobile=require_mobile)
    assert fast == slow


@settings(max_examples=500, deadline=None)
@given(raw=st.text(max_size=30))
def test_any_text_gives_a_result_and_both_paths_agree(raw: str) -> None:
    assert normalize_phone(raw) == normalize_phone_reference(raw)
