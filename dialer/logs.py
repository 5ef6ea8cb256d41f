"""Logging helpers: phone numbers are masked in every log line."""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"(?<!\d)(\+?\d{4})(\d{3,9})(\d{2})(?!\d)")


def mask_phone(text: str) -> str:
    """Mask the middle of anything that looks like a phone number: ``7916*****67``."""
    return _PHONE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)


class PhoneMaskingFilter(logging.Filter):
    """Rewrites each record's message with phone numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phone(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
