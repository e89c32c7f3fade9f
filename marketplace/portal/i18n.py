"""English and Japanese (Flask-Babel): the language, the catalogues, money and dates per locale.

Catalogues are the `.po` files under any `translations/<lang>/LC_MESSAGES/` of the package (each
feature keeps its own). They are compiled in memory when first needed, so there is no build step and
no binary file to keep in step with its source. English is the source language.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale, support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_currency_precision
from flask import Flask, request, session
from flask_babel import Babel, Domain, format_date, format_datetime, get_locale, refresh

LANGUAGES = {"en": "English", "ja": "日本語"}
PACKAGE = Path(__file__).resolve().parent.parent
_catalogues: dict[str, support.Translations] = {}


def catalogue_files(lang: str) -> list[Path]:
    return sorted(PACKAGE.glob(f"**/translations/{lang}/LC_MESSAGES/*.po"))


def load_catalogue(lang: str) -> support.Translations:
    """Every .po file for `lang`, merged (compiled in memory once per process)."""
    if lang not in _catalogues:
        merged = support.Translations()
        for path in catalogue_files(lang):
            with path.open("rb") as f:
                catalog = read_po(f, locale=lang)
            buf = io.BytesIO()
            write_mo(buf, catalog)
            buf.seek(0)
            merged.merge(support.Translations(buf))
        _catalogues[lang] = merged
    return _catalogues[lang]


class PoDomain(Domain):
    def get_translations(self):
        locale = get_locale()
        if locale is None or locale.language == "en":
            return support.NullTranslations()
        return load_catalogue(locale.language)


def select_locale() -> str:
    """The language chosen with the switch (kept in the session), else the browser's, else English."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default="en")


def money(minor, currency: str) -> str:
    """Integer minor units as the locale writes them: ¥500,000,000 and €1,234.50 (JPY has no decimals).
    Exact: Decimal scaled by the currency's digits, never a float."""
    if minor is None or minor == "":
        return "—"
    digits = get_currency_precision(currency)
    amount = Decimal(int(minor)).scaleb(-digits)
    return format_currency(amount, currency, locale=str(get_locale() or "en"), currency_digits=True)


def number(value) -> str:
    return format_decimal(value, locale=str(get_locale() or "en"))


def when(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        return format_datetime(value, "medium")
    if isinstance(value, date):
        return format_date(value, "medium")
    return str(value)


def language_name(code: str) -> str:
    return LANGUAGES.get(code, Locale.parse(code).display_name)


def install(app: Flask) -> None:
    babel = Babel(app, locale_selector=select_locale)
    babel.domain_instance = PoDomain()  # replaces Flask-Babel's .mo lookup (a cached property)
    app.before_request(refresh)  # the locale is chosen per request (an app context may outlive one in tests)
    app.jinja_env.filters.update(money=money, number=number, when=when)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=lambda: str(get_locale() or "en"))
