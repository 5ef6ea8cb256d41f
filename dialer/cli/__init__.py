"""The ``dialer`` command line: a thin layer that hands off to service functions."""

from __future__ import annotations

from dialer.cli.main import main

__all__ = ["main"]
