"""The console's visible words in English and Russian. The accessible names the tests and
screen readers use (``aria-label``) stay English whatever the language shown."""

from __future__ import annotations

LANGUAGES = ("en", "ru")

WORDS: dict[str, dict[str, str]] = {
    "Username": {"ru": "Имя пользователя"},
    "Password": {"ru": "Пароль"},
    "Sign in": {"ru": "Войти"},
    "Sign out": {"ru": "Выйти"},
    "Campaigns": {"ru": "Кампании"},
    "New campaign": {"ru": "Новая кампания"},
    "Campaign file": {"ru": "Файл кампании"},
    "Create": {"ru": "Создать"},
    "Contacts file": {"ru": "Файл контактов"},
    "Upload": {"ru": "Загрузить"},
    "Load contacts": {"ru": "Загрузить контакты"},
    "Download rejects": {"ru": "Скачать отклонённые"},
    "Start": {"ru": "Запустить"},
    "Pause": {"ru": "Пауза"},
    "Resume": {"ru": "Продолжить"},
    "Cancel": {"ru": "Отменить"},
    "Export CSV": {"ru": "Экспорт CSV"},
    "Export Excel": {"ru": "Экспорт Excel"},
    "Export Parquet": {"ru": "Экспорт Parquet"},
    "Report": {"ru": "Отчёт"},
    "Do-not-call list": {"ru": "Стоп-лист"},
    "Numbers": {"ru": "Номера"},
    "Add": {"ru": "Добавить"},
    "DNC file": {"ru": "Файл стоп-листа"},
    "Import": {"ru": "Импортировать"},
    "Search": {"ru": "Найти"},
    "State": {"ru": "Состояние"},
    "Progress": {"ru": "Прогресс"},
    "Channel": {"ru": "Канал"},
    "Name": {"ru": "Название"},
    "Contacts": {"ru": "Контакты"},
    "Rate": {"ru": "Темп"},
    "Why contacts wait": {"ru": "Почему контакты ждут"},
    "Preview": {"ru": "Предпросмотр"},
    "Encoding": {"ru": "Кодировка"},
    "Delimiter": {"ru": "Разделитель"},
    "Phone column": {"ru": "Колонка с телефоном"},
    "Rows": {"ru": "Строк"},
    "Would load": {"ru": "Будет загружено"},
    "Rejected": {"ru": "Отклонено"},
    "Duplicates": {"ru": "Дубликаты"},
    "Suppressed (DNC)": {"ru": "В стоп-листе"},
    "Loaded": {"ru": "Загружено"},
    "Line": {"ru": "Строка"},
    "Value": {"ru": "Значение"},
    "Phone": {"ru": "Телефон"},
    "Message": {"ru": "Сообщение"},
    "Reason": {"ru": "Причина"},
    "Use this column": {"ru": "Выбрать колонку"},
    "Results": {"ru": "Результаты"},
    "Charts": {"ru": "Графики"},
    "no campaigns yet": {"ru": "кампаний пока нет"},
    "Added to the list": {"ru": "Добавлено в стоп-лист"},
    "numbers given": {"ru": "номеров указано"},
    "Source": {"ru": "Источник"},
    "Added": {"ru": "Добавлен"},
}


def translate(text: str, lang: str) -> str:
    """``text`` in ``lang`` (English when there is no translation)."""
    return WORDS.get(text, {}).get(lang, text)


def pick_language(cookie: str | None, accept_language: str) -> str:
    """The ``lang`` cookie if set, else Russian when the browser puts it first."""
    if cookie in LANGUAGES:
        return cookie
    first = accept_language.split(",")[0].strip().lower()
    return "ru" if first.startswith("ru") else "en"
