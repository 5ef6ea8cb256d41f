"""The simulated MTT Business account (``SimulatorConfig.mtt_business``): the integration's
credentials, token lifetimes and workplaces.

Token lifetimes are real seconds (they are what ``expires_in`` tells the client); ring times
are simulated seconds, scaled by the simulator's ``speed`` like every call duration.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


def _default_workplaces() -> dict[str, str]:
    # The doc's workplaces (makeCall's callerId, 9.2's example) and one more.
    return {
        "883140582526566": "Администратор",
        "88314077716581": "Оператор 1",
        "883140777380595": "Оператор 2",
    }


class MttBusinessAccount(BaseModel):
    """One integration ("Мои интеграции") of one MTT Business customer."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = "ccb350cc-6218-40b0-b134-3d290f00b9e7"
    """The "Id клиента" (doc 7.3's example)."""
    client_secret: SecretStr = SecretStr("sim-mtt-business-secret")
    redirect_uri: str | None = None
    """The registered Redirect URI; ``None`` accepts any (an authorize request and its code
    exchange must still agree)."""
    access_token_seconds: float = Field(default=7200.0, gt=0)
    """Life of an access token, real seconds (doc: 2 hours); the answer's ``expires_in``."""
    refresh_token_seconds: float = Field(default=3 * 24 * 3600.0, gt=0)
    """Life of a refresh token, real seconds (doc: 3 days). Each is good for one refresh."""
    code_seconds: float = Field(default=600.0, gt=0)
    """Life of an authorization code, real seconds (undocumented; RFC 6749 advises 10 min)."""
    rps_limit: int | None = Field(default=5, gt=0)
    """API requests per sliding second (doc 6.7: 5 RPS per integration); more get 429."""
    workplaces: dict[str, str] = Field(default_factory=_default_workplaces)
    """Workplace SIP ID -> name: what ``workplacesInfo`` lists and ``makeCall`` accepts."""
    silent_workplaces: list[str] = Field(default_factory=list)
    """Workplaces whose person never answers (every call to them ends agent-no-answer)."""
    external_number: str = "78005560251"
    """The account's number, shown as the caller's ``id`` in notifications (doc's example)."""
    workplace_ring_seconds: int = Field(default=30, ge=1)
    """How long a workplace rings before the PBX gives up, simulated seconds (undocumented)."""
