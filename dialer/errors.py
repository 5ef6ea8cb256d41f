"""Every error the dialer raises on purpose, in one place.

``UserError`` and its subclasses are mistakes a user can fix (bad file, unknown campaign);
the CLI prints them as one line and exits non-zero, never with a traceback.
``ProviderError`` and its subclasses classify what a provider did with a request.
"""

from __future__ import annotations


class DialerError(Exception):
    """Base of every error raised on purpose by the dialer."""


class UserError(DialerError):
    """A mistake the user can fix; ``str(error)`` is the one-line message shown to them."""


class ConfigError(UserError):
    """A campaign file or setting is wrong; the message names the file and key."""


class InputFileError(UserError):
    """An input file is missing, unreadable or malformed; the message names file and line."""


class NotFoundError(UserError):
    """A named thing (campaign, attempt) does not exist."""


class StateError(UserError):
    """The requested transition is not allowed from the current state."""


class PreflightError(UserError):
    """A campaign cannot start: balance, sender number or webhook URL checks failed."""


class ProviderError(DialerError):
    """A provider refused or failed a request.

    ``raw`` keeps the provider's answer (truncated) for the attempt's ``error`` column.
    """

    def __init__(self, message: str, *, raw: str = "", status_code: int | None = None) -> None:
        super().__init__(message)
        self.raw = raw[:2000]
        self.status_code = status_code


class TransientProviderError(ProviderError):
    """The request was not processed (connection refused, 5xx, 429): safe to send again."""


class UnknownOutcomeError(ProviderError):
    """The request was sent but no answer came (read timeout): the call may have happened."""


class InvalidNumberError(ProviderError):
    """The provider rejected the destination number (e.g. ``"b_number" should be in e164``)."""


class ProviderRefusedError(ProviderError):
    """Any other refusal of the request (bad parameters, ``success: 0``).

    ``campaign_level`` is true when the refusal is about the campaign rather than the contact
    (``a_number`` format, a non-https notify URL, the SMS sender): every further request of the
    campaign would be refused the same way, so dispatch pauses the campaign.
    """

    def __init__(
        self,
        message: str,
        *,
        raw: str = "",
        status_code: int | None = None,
        campaign_level: bool = False,
    ) -> None:
        super().__init__(message, raw=raw, status_code=status_code)
        self.campaign_level = campaign_level


class ContactBlockedError(ProviderError):
    """The provider refuses this number for good (it is on the provider's own blacklist, such
    as UIS ``contact_in_blacklist``): the contact is opted out and never tried again."""


class ProviderAuthError(ProviderError):
    """Credentials, method name or sip_id are wrong (401/403, ``access forbidden``,
    ``Forbidden``). The campaign must stop: every further request would fail the same way."""


class GrantLapsedError(ProviderAuthError):
    """An OAuth grant no longer works (MTT Business: the refresh token expired, was used or
    revoked; an authorization code expired or was used): nothing but a person connecting the
    account again (``dialer connect``) can bring the integration back."""


class EventParseError(DialerError):
    """A webhook body is in no shape any provider documents; the collector answers 400."""


class EventRejectedError(EventParseError):
    """A webhook request that does not prove it comes from the provider (Bitrix24's
    ``auth[application_token]`` missing or wrong). A subclass of ``EventParseError`` so a
    parser still raises nothing else; the collector answers it 404 and stores nothing
    (the body may be forged, or carry the provider's tokens)."""
