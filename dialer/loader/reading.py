"""Reading contact CSVs as marketing exports them, one record at a time.

Encodings: UTF-8 and UTF-16 (LE or BE), each with or without a BOM, else cp1251 (Excel's
Russian "CSV").
A file whose first 64 KiB look like UTF-8 is checked to the end before the first row is read
(a second, chunked pass over the bytes, about 1 GB/s); any invalid byte anywhere makes the
whole file cp1251, so one file is never read in two encodings. cp1251 is read with
``errors="replace"``: its one undefined byte (0x98) becomes U+FFFD instead of failing the load.

Records: the header is the first non-blank record (after Excel's ``sep=;`` line, if any).
Each later record comes as ``(line_no, values)``, ``line_no`` being the physical line
(1-based) where the record starts, so a quoted field spanning lines makes the next number
jump. Values are as in the file (not stripped); rows with fewer fields stay short (a missing
value is told apart from an empty one);
fields beyond the header are dropped and rows where they held text are counted
(``rows_with_extra_values``) for the caller to warn about. Blank records (every field empty
or whitespace) are skipped.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from dialer.errors import InputFileError

__all__ = [
    "CsvSource",
    "clean_header",
    "detect_delimiter",
    "detect_encoding",
    "find_phone_column",
    "open_csv",
]

HEAD_BYTES: Final = 64 * 1024
"""Bytes read to detect the encoding and the delimiter."""
_CHECK_CHUNK_BYTES: Final = 1024 * 1024
_DELIMITERS: Final = ("\t", ";", ",")
"""Candidates, in the order that wins a tie: a tab or ``;`` inside text is rarer than ``,``."""
_SAMPLE_RECORDS: Final = 50
_EXCEL_SEP: Final = re.compile(r"sep=[,;\t]\r?(?:\n|\r|$)")
_INVISIBLE: Final = str.maketrans(dict.fromkeys("\ufeff\u200b\u200c\u200d\u2060\u00ad"))

PHONE_HEADERS: Final = (
    "phone",
    "telephone",
    "tel",
    "msisdn",
    "mobile",
    "телефон",
    "тел",
    "номер телефона",
    "мобильный",
)
"""Header names taken as the phone column, in any case, before weaker guesses."""
_PHONE_WORDS: Final = ("phone", "телефон")
"""Then a header containing one of these (``Мобильный телефон``, ``Phone number``)."""
_NUMBER_HEADERS: Final = ("number", "номер")
"""Last: a bare "number", which may as well be an order number."""


def detect_encoding(head: bytes) -> str:
    """``utf-8-sig``, ``utf-16`` (by BOM), ``utf-16-le`` / ``utf-16-be`` without a BOM (by
    where the NUL bytes fall), ``utf-8`` if ``head`` decodes as UTF-8 (a character cut at the
    end of ``head`` is allowed), else ``cp1251``."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    unmarked = _utf16_without_bom(head)
    if unmarked is not None:
        return unmarked
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``head`` reads as UTF-16 text without a BOM.

    A CSV always holds ASCII (digits, delimiters, line ends), and in UTF-16 every ASCII
    character has a NUL high byte: at odd offsets little-endian, at even ones big-endian.
    Cyrillic letters (U+04xx) have none. So: NULs on one side only, at least one ASCII
    character in eight, and the text decodes strictly to printable characters and line
    breaks. A binary file (an .xlsx is a zip) fails one of these."""
    sample = head[: min(len(head), 4096) & ~1]
    if b"\x00" not in sample:
        return None
    odd = sample[1::2].count(0)
    even = sample[0::2].count(0)
    pairs = len(sample) // 2
    for encoding, ascii_side, other_side in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if other_side == 0 and ascii_side * 8 >= pairs:
            try:
                text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            except UnicodeDecodeError:
                return None
            readable = all(char.isprintable() or char in "\t\r\n" for char in text)
            return encoding if readable else None
    return None


def detect_delimiter(sample_text: str) -> str:
    """``,`` ``;`` or tab: the one that splits the first records into the same number (> 1) of
    columns most consistently. Delimiters inside quotes don't count; a quoted field may span
    lines. The last record of ``sample_text`` is ignored when it is cut off (no newline) and
    others exist. A single-column sample gives ``,``."""
    records = _delimiter_counts(sample_text)
    best, best_score = ",", (0.0, -1)
    for priority, delimiter in enumerate(reversed(_DELIMITERS)):
        counts = Counter(record[delimiter] for record in records)
        if not counts:
            continue
        columns, seen = max(counts.items(), key=lambda item: (item[1], item[0]))
        if columns == 0:
            continue
        score = (seen / len(records), priority)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _delimiter_counts(sample: str) -> list[Counter[str]]:
    records: list[Counter[str]] = []
    current: Counter[str] = Counter()
    has_content = in_quotes = False
    for char in sample:
        if char == '"':
            in_quotes = not in_quotes
            has_content = True
        elif in_quotes:
            continue
        elif char == "\n" or char == "\r":
            if has_content:
                records.append(current)
                if len(records) == _SAMPLE_RECORDS:
                    return records
            current, has_content = Counter(), False
        else:
            if char in _DELIMITERS:
                current[char] += 1
            has_content = has_content or not char.isspace()
    if has_content and not records:
        records.append(current)
    return records


class CsvSource:
    """An open CSV: ``header``, then ``(line_no, values)`` records by iterating.

    Use as a context manager (``with open_csv(path) as source``). ``bytes_read`` and
    ``total_bytes`` (bytes) drive a progress bar; ``bytes_read`` runs a little ahead of the
    records returned because reading is buffered.
    """

    def __init__(
        self,
        path: Path,
        binary: io.BufferedReader,
        encoding: str,
        delimiter: str,
        total_bytes: int,
        *,
        skip_lines: int = 0,
    ) -> None:
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self.total_bytes = total_bytes
        self.rows_with_extra_values = 0
        """Records that had text in fields beyond the header (dropped)."""
        self.first_extra_values_line: int | None = None
        self._binary = binary
        errors = "replace" if encoding == "cp1251" else "strict"
        self._text = io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline="")
        for _ in range(skip_lines):
            self._text.readline()
        self._skipped_lines = skip_lines
        self._reader = csv.reader(self._text, delimiter=delimiter)
        try:
            first = next(self._read_records(), None)
            if first is None:
                raise InputFileError(f"{path}: file is empty (no header line)")
        except BaseException:
            self.close()
            raise
        self.header_line = first[0]
        self.header = clean_header(first[1])

    @property
    def bytes_read(self) -> int:
        return self._binary.tell() if not self._binary.closed else self.total_bytes

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """Records after the header; one pass only (the file is read as it goes)."""
        return self._read_records(len(self.header))

    def _read_records(self, width: int | None = None) -> Iterator[tuple[int, list[str]]]:
        """Non-blank records with the physical line each starts on; with ``width``, longer
        rows are cut to it (one generator for both: this runs once per row)."""
        reader = self._reader
        skipped = self._skipped_lines
        line_no = skipped + reader.line_num + 1
        try:
            for values in reader:
                # Blank: no fields, or all empty or whitespace (checked cheaply first).
                if values and (values[0].strip() or "".join(values).strip()):
                    if width is not None and len(values) != width:
                        self._fit(line_no, values, width)
                    yield line_no, values
                line_no = skipped + reader.line_num + 1
        except csv.Error as error:
            raise InputFileError(f"{self.path}:{line_no}: {_csv_problem(error)}") from None
        except UnicodeDecodeError as error:
            raise InputFileError(
                f"{self.path}: not valid {self.encoding} near line {line_no} ({error.reason})"
            ) from None

    def _fit(self, line_no: int, values: list[str], width: int) -> None:
        # A short row stays short: a value that is not there is "missing", not "empty".
        if len(values) > width:
            if "".join(values[width:]).strip():
                self.rows_with_extra_values += 1
                if self.first_extra_values_line is None:
                    self.first_extra_values_line = line_no
            del values[width:]

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_csv(path: str | os.PathLike[str]) -> CsvSource:
    """Open a contacts CSV, detecting encoding and delimiter and reading the header.

    Raises ``InputFileError`` naming the file when it is missing, a directory, unreadable,
    binary (NUL bytes in its first 64 KiB, e.g. an .xlsx) or empty (no header line)."""
    path = Path(path)
    try:
        binary = path.open("rb")
    except FileNotFoundError:
        raise InputFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory, not a file") from None
    except OSError as error:
        raise InputFileError(f"{path}: cannot open ({error.strerror})") from None
    try:
        total_bytes = os.fstat(binary.fileno()).st_size
        head = binary.read(HEAD_BYTES)
        encoding = detect_encoding(head)
        if not encoding.startswith("utf-16") and b"\x00" in head:
            hint = " (an Excel workbook? save it as CSV)" if head.startswith(b"PK\x03\x04") else ""
            raise InputFileError(f"{path}: not a text file{hint}")
        if encoding == "utf-8" and not _is_utf8(binary):
            encoding = "cp1251"
        binary.seek(0)
        sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
        if _EXCEL_SEP.match(sample):
            # Excel's "sep=;" first line names the delimiter and is not part of the data.
            return CsvSource(path, binary, encoding, sample[4], total_bytes, skip_lines=1)
        return CsvSource(path, binary, encoding, detect_delimiter(sample), total_bytes)
    except BaseException:
        binary.close()
        raise


def _is_utf8(binary: IO[bytes]) -> bool:
    """Whether every byte of the file decodes as UTF-8 (read in 1 MiB chunks)."""
    binary.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := binary.read(_CHECK_CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_problem(error: csv.Error) -> str:
    text = str(error)
    if "field larger than field limit" in text:
        return f"a field is longer than {csv.field_size_limit()} characters (an unclosed quote?)"
    return f"malformed CSV ({text})"


def clean_header(names: Sequence[str]) -> list[str]:
    """Strip names, drop BOMs and zero-width characters, make Unicode spaces single ASCII
    spaces; name empty columns ``column_<n>`` (1-based) and suffix repeats (compared without
    case) ``_2``, ``_3``..."""
    cleaned: list[str] = []
    taken: set[str] = set()
    for number, name in enumerate(names, start=1):
        name = " ".join(name.translate(_INVISIBLE).split()) or f"column_{number}"
        unique, copy = name, 1
        while unique.casefold() in taken:
            copy += 1
            unique = f"{name}_{copy}"
        taken.add(unique.casefold())
        cleaned.append(unique)
    return cleaned


def find_phone_column(
    header: Sequence[str], explicit: str | None, *, source: str = "the CSV file"
) -> int:
    """Index of the phone column: ``explicit`` (case and surrounding spaces ignored), else the
    first header named like a phone (``PHONE_HEADERS``), else one containing "phone" or
    "телефон", else one named "number" or "номер". ``source`` names the file in errors.

    Raises ``InputFileError`` when nothing matches."""
    keys = [_header_key(name) for name in header]
    if explicit is not None and explicit.strip():
        wanted = _header_key(explicit)
        if wanted in keys:
            return keys.index(wanted)
        raise InputFileError(
            f"{source}: no column {explicit.strip()!r} (columns: {', '.join(header)})"
        )
    for index, key in enumerate(keys):
        if key in PHONE_HEADERS:
            return index
    for index, key in enumerate(keys):
        if any(word in key for word in _PHONE_WORDS):
            return index
    for index, key in enumerate(keys):
        if key in _NUMBER_HEADERS:
            return index
    looked_for = ", ".join(PHONE_HEADERS + _NUMBER_HEADERS)
    raise InputFileError(f"{source}: no phone column (looked for {looked_for}); use --phone-column")


def _header_key(name: str) -> str:
    """``" Тел.: "`` -> ``"тел"``: case, spaces, ё and trailing punctuation ignored."""
    key = " ".join(name.translate(_INVISIBLE).casefold().replace("ё", "е").split())
    return key.strip(" .:;#*№")
