"""Reading messy CSVs: encodings, delimiters, quoted newlines, physical line numbers."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from dialer.errors import InputFileError
from dialer.loader.phones import Phone, normalize_phone
from dialer.loader.reading import (
    clean_header,
    detect_delimiter,
    detect_encoding,
    find_phone_column,
    open_csv,
)


def _write(tmp_path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def _read(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    with open_csv(path) as source:
        return source.header, list(source)


# --- whole files ---------------------------------------------------------------------------


def test_excel_cp1251_semicolons_with_a_cyrillic_header(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "ФИО;Телефон;Номер заказа\r\n"
        "Иванов Иван;+7 (916) 123-45-67;A-1\r\n"
        "Петрова Анна;8 916 765 43 21;Б-2\r\n",
        "cp1251",
    )
    with open_csv(path) as source:
        assert (source.encoding, source.delimiter) == ("cp1251", ";")
        assert source.header == ["ФИО", "Телефон", "Номер заказа"]
        assert find_phone_column(source.header, None) == 1
        assert list(source) == [
            (2, ["Иванов Иван", "+7 (916) 123-45-67", "A-1"]),
            (3, ["Петрова Анна", "8 916 765 43 21", "Б-2"]),
        ]


def test_utf8_with_bom_and_commas(tmp_path: Path) -> None:
    path = _write(tmp_path, "phone,name\n+79161234567,Анна\n", "utf-8-sig")
    with open_csv(path) as source:
        assert (source.encoding, source.delimiter) == ("utf-8-sig", ",")
        assert source.header == ["phone", "name"]  # no BOM glued to "phone"
        assert list(source) == [(2, ["+79161234567", "Анна"])]


def test_utf16_with_bom_and_tabs(tmp_path: Path) -> None:
    path = _write(tmp_path, "Имя\tТелефон\r\nОля\t89161234567\r\n", "utf-16")
    with open_csv(path) as source:
        assert (source.encoding, source.delimiter) == ("utf-16", "\t")
        assert source.header == ["Имя", "Телефон"]
        assert list(source) == [(2, ["Оля", "89161234567"])]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read_too(tmp_path: Path, encoding: str) -> None:
    """Some exporters write UTF-16 with no BOM; its NUL bytes used to mean "not a text file"."""
    path = _write(tmp_path, "Имя;Телефон\r\nОля;89161234567\r\nЁж;+7 916 123-45-68\r\n", encoding)
    with open_csv(path) as source:
        assert (source.encoding, source.delimiter) == (encoding, ";")
        assert source.header == ["Имя", "Телефон"]
        assert list(source) == [(2, ["Оля", "89161234567"]), (3, ["Ёж", "+7 916 123-45-68"])]


def test_quoted_fields_with_delimiters_and_newlines_keep_physical_line_numbers(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path,
        "name;phone;comment\n"  # 1
        '"Иванов; Иван";89161234567;"two\nlines"\n'  # 2-3
        "Петров;89031234567;ok\n"  # 4
        '"a\n\nb";89261234567;"say ""hi"""\n'  # 5-7
        "last;89851234567;y\n",  # 8
    )
    header, rows = _read(path)
    assert header == ["name", "phone", "comment"]
    assert [line for line, _ in rows] == [2, 4, 5, 8]
    assert rows[0][1] == ["Иванов; Иван", "89161234567", "two\nlines"]
    assert rows[2][1] == ["a\n\nb", "89261234567", 'say "hi"']


def test_blank_lines_are_skipped_and_still_counted(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "\n"  # 1: leading blank line; the header is on line 2
        "name;phone\r\n"  # 2
        "\r\n"  # 3
        "a;89161234567\r\n"  # 4
        ";\r\n"  # 5: Excel's empty row
        "  ; \u00a0\r\n"  # 6: only spaces
        "b;89031234567\r\n"  # 7
        "\r\n",  # 8
    )
    with open_csv(path) as source:
        assert source.header_line == 2
        assert list(source) == [(4, ["a", "89161234567"]), (7, ["b", "89031234567"])]


def test_old_mac_line_endings(tmp_path: Path) -> None:
    path = _write(tmp_path, "name;phone\r\ra;89161234567\rb;89031234567\r")
    assert _read(path)[1] == [(3, ["a", "89161234567"]), (4, ["b", "89031234567"])]


def test_nbsp_inside_numbers_reaches_the_normaliser(tmp_path: Path) -> None:
    path = _write(tmp_path, "ФИО;Телефон\r\nИван;8\u00a0916\u00a0123\u00a045\u00a067\r\n", "utf-8")
    [(_, values)] = _read(path)[1]
    assert values[1] == "8\u00a0916\u00a0123\u00a045\u00a067"
    phone = normalize_phone(values[1])
    assert isinstance(phone, Phone)
    assert phone.e164 == "79161234567"


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, "ФИО;Телефон\r\n", "cp1251")
    assert _read(path) == (["ФИО", "Телефон"], [])


def test_short_rows_stay_short_and_extra_fields_are_dropped_but_counted(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name;phone;city\n"
        "a;89161234567\n"  # 2: short
        "b;89031234567;Омск;;\n"  # 3: trailing empty extras, not counted
        "c;89261234567;Тула;oops;more\n"  # 4: real extra text
        "d;89851234567;Уфа;x\n",  # 5
    )
    with open_csv(path) as source:
        rows = list(source)
        assert rows == [
            (2, ["a", "89161234567"]),
            (3, ["b", "89031234567", "Омск"]),
            (4, ["c", "89261234567", "Тула"]),
            (5, ["d", "89851234567", "Уфа"]),
        ]
        assert source.rows_with_extra_values == 2
        assert source.first_extra_values_line == 4


def test_utf8_head_with_cp1251_later_is_read_as_cp1251(tmp_path: Path) -> None:
    ascii_part = "name;phone\r\n" + "a;89161234567\r\n" * 6000  # > 64 KiB of plain ASCII
    path = _write(tmp_path, ascii_part.encode() + "Ёжик;89031234567\r\n".encode("cp1251"))
    with open_csv(path) as source:
        assert source.encoding == "cp1251"
        *_, last = source
    assert last == (6002, ["Ёжик", "89031234567"])


def test_utf8_cut_at_the_head_boundary_stays_utf8(tmp_path: Path) -> None:
    line = "Ж;89161234567\r\n"
    body = "имя;телефон\r\n" + line * 7000  # the 64 KiB head ends mid-"Ж" somewhere
    path = _write(tmp_path, body)
    with open_csv(path) as source:
        assert source.encoding == "utf-8"
        rows = list(source)
    assert len(rows) == 7000
    assert all(values == ["Ж", "89161234567"] for _, values in rows)


def test_cp1251_undefined_byte_does_not_fail_the_load(tmp_path: Path) -> None:
    path = _write(tmp_path, "имя;телефон\r\n".encode("cp1251") + b"x\x98y;89161234567\r\n")
    assert _read(path)[1] == [(2, ["x\ufffdy", "89161234567"])]


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    path = _write(tmp_path, "sep=,\r\nname;x,phone\r\na;b,89161234567\r\n")
    with open_csv(path) as source:
        assert source.delimiter == ","
        assert source.header == ["name;x", "phone"]
        assert list(source) == [(3, ["a;b", "89161234567"])]


def test_bytes_read_reaches_total(tmp_path: Path) -> None:
    path = _write(tmp_path, "name;phone\n" + "a;89161234567\n" * 20_000)
    with open_csv(path) as source:
        assert source.total_bytes == path.stat().st_size
        seen = [source.bytes_read for _ in source]
        assert seen == sorted(seen)
        assert 0 < seen[0] < source.total_bytes
        assert source.bytes_read == source.total_bytes
    assert source.bytes_read == source.total_bytes  # closed


# --- files that cannot be read -------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"contacts\.csv: file not found$"):
        open_csv(tmp_path / "contacts.csv")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="is a directory"):
        open_csv(tmp_path)


@pytest.mark.parametrize("content", [b"", codecs.BOM_UTF8, b"\r\n\r\n", b" ; \n;;\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(InputFileError, match=r"contacts\.csv: file is empty"):
        open_csv(_write(tmp_path, content))


def test_unclosed_quote_fails_with_the_line_number(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name;phone\na;1\n"b;2\n' + "x;3\n" * 40_000)
    with open_csv(path) as source, pytest.raises(InputFileError, match=r"csv:3: a field is"):
        list(source)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", r"contacts\.csv: not a text file \(an Excel workbook"),
        (b"name;phone\na;1\nb\x00;2\n", r"contacts\.csv: not a text file$"),
    ],
)
def test_binary_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        open_csv(_write(tmp_path, content))


def test_invalid_utf16_fails_as_an_input_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "a\tphone\r\n".encode("utf-16") + b"\x00\xd8\x41\x00")
    with (
        pytest.raises(InputFileError, match=r"contacts\.csv: not valid utf-16 near line 1"),
        open_csv(path) as source,
    ):
        list(source)


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (codecs.BOM_UTF8 + "Телефон".encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "Т".encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + "Т".encode("utf-16-be"), "utf-16"),
        ("Имя;Телефон\r\nОля;89161234567\r\n".encode("utf-16-le"), "utf-16-le"),
        ("Имя;Телефон\r\nОля;89161234567\r\n".encode("utf-16-be"), "utf-16-be"),
        ("phone\n79161234567\n".encode("utf-16-le"), "utf-16-le"),
        ("phone\n79161234567\n".encode("utf-16-le")[:-1], "utf-16-le"),  # odd length
        ("ФИО\r\n".encode("utf-16-le"), "utf-16-le"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "utf-8"),  # a zip: NULs both sides
        (b"\x01\x00\x02\x00", "utf-8"),  # NULs one side, but control characters
        (b"a\x00\x00\xd8", "utf-8"),  # NULs on both sides
        ("Телефон".encode(), "utf-8"),
        ("Телефон".encode()[:-1], "utf-8"),  # a character cut by the head's end
        (b"phone;name\r\n", "utf-8"),
        (b"", "utf-8"),
        ("Телефон".encode("cp1251"), "cp1251"),
        ("ФИО;Телефон".encode("cp1251"), "cp1251"),
        ("Телефон".encode() + b"\xff", "cp1251"),
    ],
)
def test_detect_encoding(head: bytes, expected: str) -> None:
    assert detect_encoding(head) == expected


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a;b;c\n1;2;3\n", ";"),
        ("a,b,c\n1,2,3\n", ","),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("phone\n89161234567\n", ","),  # one column
        ("", ","),
        ("ФИО;Адрес;Телефон\nИван;г. Москва, ул. Ленина, 1;8916\nОля;Тверь;8903\n", ";"),
        ("ФИО;Сумма\nИван;1500,50\nОля;20,00\n", ";"),
        ('name,comment\n"a","x;y;z"\n"b","p;q;r"\n', ","),
        ('name;comment\n"a";"line one,\nline, two"\n"b";"c"\n', ";"),
        ("name,phone\na,1\nb,2\nc;d;e;f;g;h", ","),  # cut last line ignored
        ("a;b\n", ";"),
        ("a;b", ";"),  # one unterminated line is all there is
        ("name;phone\r\n\r\na;1\r\n", ";"),
    ],
)
def test_detect_delimiter(sample: str, expected: str) -> None:
    assert detect_delimiter(sample) == expected


# --- header --------------------------------------------------------------------------------


def test_clean_header() -> None:
    assert clean_header(
        ["\ufeff Телефон\u00a0", "", "Имя", "имя", "Номер\u202fзаказа", "  ", "Имя_2"]
    ) == ["Телефон", "column_2", "Имя", "имя_2", "Номер заказа", "column_6", "Имя_2_2"]


@pytest.mark.parametrize(
    ("header", "explicit", "expected"),
    [
        (["ФИО", "Телефон", "Номер заказа"], None, 1),
        (["Номер заказа", "Номер", "Тел."], None, 2),  # a named phone beats a bare "номер"
        (["name", "Phone Number"], None, 1),
        (["ФИО", "Мобильный телефон"], None, 1),
        (["ФИО", "  МОБИЛЬНЫЙ "], None, 1),
        (["id", "MSISDN"], None, 1),
        (["id", "tel"], None, 1),
        (["id", "Номер телефона:"], None, 1),
        (["id", "Number"], None, 1),
        (["ФИО", "номер"], None, 1),
        (["ФИО", "Телефон", "Доп. телефон"], None, 1),
        (["a", "b", "Контакт"], "контакт", 2),
        (["a", "Телефон", "Контакт"], " КОНТАКТ ", 2),  # explicit wins
    ],
)
def test_find_phone_column(header: list[str], explicit: str | None, expected: int) -> None:
    assert find_phone_column(header, explicit) == expected


def test_no_phone_column_names_the_file_and_the_option() -> None:
    with pytest.raises(InputFileError, match=r"^contacts\.csv: no phone column \(looked for "):
        find_phone_column(["ФИО", "Город"], None, source="contacts.csv")
    with pytest.raises(InputFileError, match="use --phone-column"):
        find_phone_column(["ФИО", "Город"], None)


def test_unknown_explicit_column_lists_the_columns() -> None:
    with pytest.raises(InputFileError, match=r"no column 'Мобила' \(columns: ФИО, Телефон\)"):
        find_phone_column(["ФИО", "Телефон"], "Мобила", source="x.csv")
