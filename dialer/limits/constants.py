"""Every Redis key prefix the limits package writes, in one place."""

from __future__ import annotations

RATE_KEY_PREFIX = "dialer:rate:"
"""Prefix of a rate key; the value is the key's theoretical arrival time (GCRA TAT)."""
