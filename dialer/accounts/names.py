"""Names of users and tokens: short, and safe to print in a log line or a URL."""

from __future__ import annotations

import re

from dialer.errors import UserError

_NAME = re.compile(r"[A-Za-z0-9._@-]{1,100}")


def check_name(what: str, name: str) -> str:
    """``name`` if it is 1-100 ASCII letters, digits, ``.``, ``_``, ``@`` or ``-``;
    otherwise ``UserError`` naming ``what`` (``user``, ``token``)."""
    if not _NAME.fullmatch(name):
        raise UserError(f"{what} name {name!r}: use 1-100 letters, digits, '.', '_', '@' or '-'")
    return name
