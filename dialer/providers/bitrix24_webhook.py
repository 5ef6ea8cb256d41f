"""The Bitrix24 inbound REST webhook URL: where each method's URL comes from, and how the
secret code inside it is kept out of every message.

``https://portal.bitrix24.ru/rest/1/abc123xyz/`` is "your Bitrix24 address, ``/rest``, the
id of the employee who created the webhook, the webhook secret code", and a method is
called as ``.../<method>`` or ``.../<method>.json`` ("``.json`` can be omitted, json is used
by default"): https://apidocs.bitrix24.com/local-integrations/local-webhooks.html. The code
"grants access to methods within the webhook permissions": no error message or log line of
ours may show it.

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

REDACTED = "***"
EXPECTED_SHAPE = "https://<portal>/rest/<user id>/<webhook code>/"
_REST_PATH = re.compile(r"^(?P<prefix>.*?/rest/(?P<user>[0-9]+)/)(?P<code>[^/?#]+)(?:/.*)?$")


@dataclass(frozen=True, slots=True)
class RestWebhook:
    """A parsed inbound webhook. ``base`` ends with ``/`` (a method name is appended to it);
    ``masked`` is what messages show instead (``https://portal/rest/1/***/``)."""

    base: str
    code: str
    masked: str

    def method_url(self, method: str) -> str:
        """``<base><method>``: the method pages' cURL examples append the bare name."""
        return self.base + method

    def scrub(self, text: str) -> str:
        """``text`` with the webhook code (and so the whole URL) replaced by ``***``."""
        return text.replace(self.code, REDACTED) if self.code else text


def parse_rest_webhook(url: str) -> RestWebhook:
    """Read ``url`` (``DIALER_BITRIX24_WEBHOOK_URL``). Anything after the code (a method name
    copied from the portal's example, ``profile.json``) is ignored.

    Raises ``ValueError`` with a message that never repeats the URL when it is not an
    ``http(s)://<host>/rest/<user id>/<code>`` URL.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an inbound webhook URL: expected {EXPECTED_SHAPE}")
    found = _REST_PATH.match(parts.path)
    if found is None:
        raise ValueError(
            f"no /rest/<user id>/<code>/ in the webhook URL: expected {EXPECTED_SHAPE}"
        )
    origin = f"{parts.scheme.lower()}://{parts.netloc}"
    code = found.group("code")
    return RestWebhook(
        base=f"{origin}{found.group('prefix')}{code}/",
        code=code,
        masked=f"{origin}{found.group('prefix')}{REDACTED}/",
    )


def webhook_code(url: str) -> str:
    """The secret code in ``url``, or ``""`` when ``url`` is empty or not a webhook URL (for
    ``Settings.secret_values``)."""
    try:
        return parse_rest_webhook(url).code
    except ValueError:
        return ""


def portal_host(url: str) -> str:
    """The portal's host (``portal.bitrix24.ru``), lower-cased: the rate-limit account, as
    Bitrix24 counts requests per portal. ``"unconfigured"`` when ``url`` is no webhook."""
    try:
        webhook = parse_rest_webhook(url)
    except ValueError:
        return "unconfigured"
    return urlsplit(webhook.base).netloc.lower()


def mask_webhook_url(url: str) -> str:
    """``url`` as a message may show it: the code replaced, or nothing of it when it cannot
    be parsed."""
    try:
        return parse_rest_webhook(url).masked
    except ValueError:
        return "<unparseable webhook URL>"
