"""``dialer load``: stream a CSV into a campaign's contacts.

Conservation: ``rows = loaded + rejected + duplicates + suppressed``. Rejected lines go to a
rejects CSV (line, value, reason, detail). The first occurrence of a number wins; later ones,
in the file or across loads, count as duplicates, so loading a file again adds nothing.
Numbers on the DNC list are stored with status ``suppressed``. Memory stays bounded: rows are
inserted in batches; only the set of the campaign's numbers is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from dialer.campaign.config import CampaignConfig
from dialer.campaign.store import config_of, get_campaign
from dialer.campaign.templates import field_columns, missing_fields, render
from dialer.channels import channel_for
from dialer.db.engine import session_scope
from dialer.db.models import Load
from dialer.db.types import utcnow
from dialer.errors import ConfigError, StateError
from dialer.loader.phones import PhoneReject, normalize_phone_facts, zones_for
from dialer.loader.reading import find_phone_column, open_csv
from dialer.loader.rejects import RejectsFile
from dialer.loader.store import ContactWriter, CountingWriter, db_timestamp, existing_phones
from dialer.states import CampaignState, ContactStatus

BATCH_SIZE = 20_000
TIMEZONE_HEADERS = frozenset({"timezone", "tz", "time_zone", "часовой пояс", "часовой_пояс"})

Progress = Callable[[int, int], None]
"""``progress(bytes_read, total_bytes)``."""


@dataclass(frozen=True)
class LoadSummary:
    campaign: str
    rows: int
    loaded: int
    rejected: int
    duplicates: int
    suppressed: int
    rejects_file: str | None
    warning: str | None = None
    """Set when the loaded contacts will not be dialled yet: the campaign is completed or
    paused (see ``waiting_note``)."""
    encoding: str = ""
    """The file's detected encoding (``utf-8``, ``cp1251``, ...)."""
    delimiter: str = ""
    phone_column: str = ""
    """The header of the column the numbers were read from."""
    columns: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    """Rejected rows by reason (``invalid_number``, ``template_field_empty``, ...)."""
    sample: list[SampleRow] = field(default_factory=list)
    """The first rows as they would be loaded (``sample=`` rows asked for; a preview)."""
    dry_run: bool = False
    """Counted only: nothing was stored (a preview of what loading would do)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SampleRow:
    """One of the first rows of a file as the loader sees it."""

    line: int
    value: str
    """The phone column's text as written."""
    phone: str | None
    """The number in E.164, or ``None`` when the row is rejected."""
    reason: str | None
    """Why the row is rejected (``None`` when it is taken)."""
    message: str | None
    """The campaign's message rendered for this row (``None`` when rejected)."""


def waiting_note(name: str, state: CampaignState, loaded: int) -> str | None:
    """Why contacts just loaded will not be dialled until someone acts, or ``None``."""
    if loaded == 0:
        return None
    if state == CampaignState.COMPLETED:
        return (
            f"campaign {name!r} is completed: the {loaded} new contacts wait until you start "
            f"it again (dialer campaign start {name})"
        )
    if state == CampaignState.PAUSED:
        return (
            f"campaign {name!r} is paused: the {loaded} new contacts wait until you resume it "
            f"(dialer campaign resume {name})"
        )
    return None


def default_rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects.csv")


def load_contacts(
    engine: Engine,
    campaign_ref: str,
    path: Path,
    *,
    phone_column: str | None = None,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    sample: int = 0,
) -> LoadSummary:
    """Load a CSV into a campaign. Raises ``UserError`` subclasses for a missing file, an
    unknown campaign, no phone column, or a template field the file has no column for.

    With ``dry_run`` the whole file is read and counted the same way (numbers on the DNC
    list included) but nothing is stored: the console's preview. ``sample`` keeps the first
    rows, each with its number or reject reason and the message rendered for it."""
    now = now or utcnow()
    with session_scope(engine) as session:
        campaign = get_campaign(session, campaign_ref)
        if campaign.state == CampaignState.CANCELLED:
            raise StateError(f"campaign {campaign.name!r} is cancelled; create a new one")
        config = config_of(campaign)
        campaign_id = campaign.id or 0
        name = campaign.name
        state = CampaignState(campaign.state)
        templates = [(f"the {where}", text) for where, text in config.templates()]
        for linked in config.callback_campaigns():
            other = config_of(get_campaign(session, linked))
            templates += [
                (f"the {where} of callback campaign {linked!r}", text)
                for where, text in other.templates()
            ]
    rejects = RejectsFile(rejects_path or default_rejects_path(path))
    countries = frozenset(config.countries)
    require_mobile = channel_for(config.channel).require_mobile
    default_zone = config.schedule.timezone
    stamp = db_timestamp(engine, now)
    seen = existing_phones(engine, campaign_id)
    rows = duplicates = 0
    columns: list[str] = []
    kept: list[SampleRow] = []
    writer_type = CountingWriter if dry_run else ContactWriter
    try:
        with open_csv(path) as source, writer_type(engine, batch_size) as writer:
            header = source.header
            columns = list(dict.fromkeys(header))
            phone_index = find_phone_column(
                header, phone_column or config.phone_column, source=str(path)
            )
            found = _Found(source.encoding, source.delimiter, header[phone_index], columns)
            for where, text in templates:
                missing = missing_fields(text, header)
                if missing:
                    raise ConfigError(
                        f"{path}: {where} uses {{{missing[0]}}} but the file has no such "
                        f"column (columns: {', '.join(header)})"
                    )
            field_indexes = field_columns(config.message.text, header)
            zone_index = next(
                (i for i, h in enumerate(header) if h.strip().lower() in TIMEZONE_HEADERS), None
            )
            encode_fields = fields_json_encoder(header)
            zones = _ZoneTexts(zone_index, default_zone)
            pending = ContactStatus.PENDING.value
            for line_no, values in source:
                rows += 1
                raw = values[phone_index] if phone_index < len(values) else ""
                result = normalize_phone_facts(
                    raw, allowed_countries=countries, require_mobile=require_mobile
                )
                if rows <= sample:
                    row = _sample_row(line_no, raw, result, values, header, config)
                    if row.phone is not None and row.phone in seen:
                        row = SampleRow(line_no, raw, row.phone, "duplicate", None)
                    kept.append(row)
                if isinstance(result, PhoneReject):
                    rejects.add(line_no, raw, result.reason.value, result.detail)
                    continue
                problem = _template_problem(values, field_indexes)
                if problem is not None:
                    rejects.add(line_no, raw, *problem)
                    continue
                e164, facts = result
                if e164 in seen:
                    duplicates += 1
                    continue
                seen.add(e164)
                batch_done = writer.add(
                    (
                        campaign_id,
                        e164,
                        pending,
                        None,
                        0,
                        0,
                        stamp,
                        *zones.of(facts.timezones, values),
                        facts.region,
                        line_no,
                        encode_fields(values),
                        stamp,
                    )
                )
                if batch_done and progress is not None:
                    progress(source.bytes_read, source.total_bytes)
            writer.finish()
            loaded, suppressed = writer.inserted - writer.suppressed, writer.suppressed
            duplicates += writer.conflicts
            if progress is not None:
                progress(source.total_bytes, source.total_bytes)
    finally:
        rejects.close()
    summary = LoadSummary(
        campaign=name,
        rows=rows,
        loaded=loaded,
        rejected=rejects.count,
        duplicates=duplicates,
        suppressed=suppressed,
        rejects_file=str(rejects.path) if rejects.count else None,
        warning=None if dry_run else waiting_note(name, state, loaded),
        encoding=found.encoding,
        delimiter=found.delimiter,
        phone_column=found.phone_column,
        columns=found.columns,
        reasons=dict(rejects.reasons),
        sample=kept,
        dry_run=dry_run,
    )
    if dry_run:
        return summary
    with session_scope(engine) as session:
        session.add(
            Load(
                campaign_id=campaign_id,
                source_path=str(path),
                columns_json=json.dumps(columns, ensure_ascii=False),
                created_at=now,
                **{k: getattr(summary, k) for k in _LOAD_COLUMNS},
            )
        )
    return summary


_LOAD_COLUMNS = ("rows", "loaded", "rejected", "duplicates", "suppressed", "rejects_file")
"""The summary's fields that the ``loads`` table keeps."""


@dataclass(frozen=True)
class _Found:
    """What reading the file found out: its encoding, delimiter, phone column, columns."""

    encoding: str
    delimiter: str
    phone_column: str
    columns: list[str]


def _sample_row(
    line_no: int,
    raw: str,
    result: object,
    values: list[str],
    header: Sequence[str],
    config: CampaignConfig,
) -> SampleRow:
    if isinstance(result, PhoneReject):
        return SampleRow(line_no, raw, None, result.reason.value, None)
    assert isinstance(result, tuple)
    text = config.message.text
    problem = _template_problem(values, field_columns(text, header))
    if problem is not None:
        return SampleRow(line_no, raw, None, problem[0], None)
    return SampleRow(
        line_no, raw, result[0], None, render(text, dict(zip(header, values, strict=False)))
    )


def _template_problem(
    values: list[str], field_indexes: list[tuple[str, int]]
) -> tuple[str, str] | None:
    for name, index in field_indexes:
        if index >= len(values):
            return "template_field_missing", f"no value for {{{name}}}"
        if not values[index].strip():
            return "template_field_empty", f"{{{name}}} is empty"
    return None


class _ZoneTexts:
    """A contact's ``timezone`` and ``timezones`` columns: ``resolve_timezone`` and its
    candidates joined by spaces. Cached per candidate tuple (the numbers of one deciding
    prefix share one) unless the row names its own zone."""

    def __init__(self, zone_index: int | None, default: str) -> None:
        self._index = zone_index
        self._default = default
        self._by_candidates: dict[tuple[str, ...], tuple[str, str]] = {}

    def of(self, candidates: tuple[str, ...], values: list[str]) -> tuple[str, str]:
        index = self._index
        explicit = values[index].strip() if index is not None and index < len(values) else ""
        if explicit:
            zone, zones = zones_for(candidates, explicit, self._default)
            return zone, " ".join(zones)
        found = self._by_candidates.get(candidates)
        if found is None:
            zone, zones = zones_for(candidates, None, self._default)
            found = self._by_candidates[candidates] = zone, " ".join(zones)
        return found


def fields_json_encoder(header: Sequence[str]) -> Callable[[Sequence[str]], str]:
    """``values -> json.dumps(dict(zip(header, values)), ensure_ascii=False)``, text for text.

    A row as wide as a header of distinct names is a JSON object of one shape every time: its
    keys are encoded once into a ``%`` template and each value goes through the encoder
    ``json.dumps`` itself uses, about four times cheaper than building and dumping a dict.
    Other rows, and headers with a repeated name, take ``json.dumps``."""
    names = list(header)

    def dumps(values: Sequence[str]) -> str:
        return json.dumps(dict(zip(names, values, strict=False)), ensure_ascii=False)

    if len(set(names)) != len(names):
        return dumps
    width = len(names)
    template = (
        "{" + ", ".join(encode_basestring(name).replace("%", "%%") + ": %s" for name in names) + "}"
    )

    def encode(values: Sequence[str]) -> str:
        if len(values) != width:
            return dumps(values)
        return template % tuple(map(encode_basestring, values))

    return encode
