"""Message templates: field names, rendering, missing columns, malformed braces."""

from __future__ import annotations

import pytest

from dialer.campaign.templates import missing_fields, render, template_fields
from dialer.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("Здравствуйте!", []),
        ("", []),
        ("Здравствуйте, {ФИО}!", ["ФИО"]),
        ("Заказ {Номер заказа} готов", ["Номер заказа"]),
        ("{ Номер   заказа }", ["Номер заказа"]),
        ("{name}, {name} and {city}", ["name", "city"]),
        ("{{literal}} and {real}", ["real"]),
        ("{{{name}}}", ["name"]),
        ("{{}}", []),
        ("}}{{", []),
        ("{a:>5}", ["a:>5"]),
        ("{a.b} {c[0]} {d!r}", ["a.b", "c[0]", "d!r"]),
        ("{сумма}₽ до {дата}", ["сумма", "дата"]),
    ],
)
def test_template_fields(text: str, fields: list[str]) -> None:
    assert template_fields(text) == fields


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Здравствуйте, {ФИО}!", "Здравствуйте, Иван Петров!"),
        ("Заказ {Номер заказа} готов", "Заказ A-17 готов"),
        ("Заказ {номер ЗАКАЗА} готов", "Заказ A-17 готов"),  # case and spaces ignored
        ("{{ФИО}} = {ФИО}", "{ФИО} = Иван Петров"),
        ("{{{Сумма}}}", "{1 500,00}"),
        ("no fields", "no fields"),
        ("{Пусто}!", "!"),
    ],
)
def test_render(text: str, expected: str) -> None:
    fields = {"ФИО": "Иван Петров", "Номер заказа": "A-17", "Сумма": "1 500,00", "Пусто": ""}
    assert render(text, fields) == expected


def test_values_with_braces_are_not_templates() -> None:
    assert render("{a}", {"a": "{b} }{"}) == "{b} }{"


def test_render_refuses_a_field_the_contact_lacks() -> None:
    with pytest.raises(ConfigError, match=r"no value for \{Город\}"):
        render("Ваш город: {Город}", {"ФИО": "x"})


@pytest.mark.parametrize(
    ("text", "header", "missing"),
    [
        ("{ФИО}, заказ {Номер заказа}", ["ФИО", "Телефон", "Номер заказа"], []),
        ("{фио}", ["ФИО"], []),
        ("{ФИО} {Город} {Город} {Дата}", ["ФИО", "Телефон"], ["Город", "Дата"]),
        ("Нет полей", [], []),
    ],
)
def test_missing_fields(text: str, header: list[str], missing: list[str]) -> None:
    assert missing_fields(text, header) == missing


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Здравствуйте, {ФИО", r"'\{' at character 15 is not closed"),
        ("{", r"'\{' at character 1 is not closed"),
        ("ФИО}", r"'\}' at character 4 closes nothing"),
        ("a } b", r"'\}' at character 3 closes nothing"),
        ("{a{b}", r"'\{' at character 1 is not closed"),
        ("{}", r"empty field '\{\}' at character 1"),
        ("{   }", "empty field"),
        ("{{{a}}", r"'\}' at character 6 closes nothing"),
    ],
)
def test_malformed_templates(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        template_fields(text)
    with pytest.raises(ConfigError, match=problem):
        render(text, {"a": "1", "ФИО": "x"})
