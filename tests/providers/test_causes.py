"""Q.850 cause texts."""

from __future__ import annotations

import pytest

from dialer.providers.causes import Q850_CAUSES, cause_text


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (1, "unallocated number"),
        (3, "no route to destination"),
        (16, "normal clearing"),
        (17, "user busy"),
        (18, "no user responding"),
        (19, "no answer"),
        (20, "subscriber absent"),
        (21, "call rejected"),
        (22, "number changed"),
        (27, "destination out of order"),
        (28, "invalid number format"),
        (31, "normal, unspecified"),
        (34, "no circuit available"),
        (38, "network out of order"),
        (41, "temporary failure"),
        (42, "switching equipment congestion"),
        (44, "requested channel not available"),
        (47, "resource unavailable"),
        (102, "recovery on timer expiry"),
        (127, "interworking, unspecified"),
    ],
)
def test_common_causes(code: int, text: str) -> None:
    assert cause_text(code) == text


def test_unknown_and_missing_causes() -> None:
    assert cause_text(200) == "cause 200"
    assert cause_text(0) == "cause 0"
    assert cause_text(None) == ""


def test_table_is_q850_range_and_readable() -> None:
    assert all(1 <= code <= 127 for code in Q850_CAUSES)
    assert all(text and text == text.strip() and len(text) <= 60 for text in Q850_CAUSES.values())
    with pytest.raises(TypeError):
        Q850_CAUSES[16] = "changed"  # type: ignore[index]
