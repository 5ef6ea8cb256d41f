"""dialer.logs: phone numbers and secrets masked in the whole formatted line."""

from __future__ import annotations

import logging

import pytest

from dialer.logs import mask_phone, mask_phones, redact_secrets, register_secret, unregister_secret
from tests.support.logs import captured_logs


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("79103880489", "7910*****89"),
        ("+79103880489", "+791******89"),
        ("123456", "******"),
        ("1234567", "1234*67"),
        ("", ""),
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 79103880489 ended", "call 7910*****89 ended"),
        ("to=+79103880489&x=1", "to=+7910*****89&x=1"),
        ("h_79103880489_16_4", "h_7910*****89_16_4"),
        ("attempt 1255490 cause 16", "attempt 1255490 cause 16"),
        (
            "a 16-digit run 1234567890123456 is no phone",
            "a 16-digit run 1234567890123456 is no phone",
        ),
        ("('79587643270', 'msg1')", "('7958*****70', 'msg1')"),
    ],
)
def test_mask_phones_in_text(text: str, masked: str) -> None:
    assert mask_phones(text) == masked


def test_registered_secrets_and_hook_paths_are_redacted() -> None:
    register_secret("s3cr3t-value")
    try:
        assert redact_secrets("pw s3cr3t-value, GET /hooks/anything/mtt/sms") == (
            "pw ***, GET /hooks/***/mtt/sms"
        )
    finally:
        unregister_secret("s3cr3t-value")
    assert redact_secrets("pw s3cr3t-value") == "pw s3cr3t-value"


def test_the_traceback_and_the_stack_are_masked_too() -> None:
    with captured_logs(secrets=("token-abcdefghijkl",)) as logs:
        try:
            raise ValueError("body b_number=79103880489 token-abcdefghijkl")
        except ValueError:
            logging.getLogger("dialer.test").exception("failed for %s", "79587643270")
        logging.getLogger("dialer.test").warning("stack", stack_info=True)

    text = logs.getvalue()
    assert "Traceback" in text
    assert "ValueError: body b_number=7910*****89 ***" in text
    assert "failed for 7958*****70" in text
    for secret in ("79103880489", "79587643270", "token-abcdefghijkl"):
        assert secret not in text


def test_configure_logging_takes_uvicorn_loggers_too() -> None:
    logging.getLogger("uvicorn.error").addHandler(logging.NullHandler())
    with captured_logs() as logs:
        logging.getLogger("uvicorn.error").warning("from 79103880489")

    assert "from 7910*****89" in logs.getvalue()
