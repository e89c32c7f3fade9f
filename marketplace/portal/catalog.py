"""The translation catalogue's completeness: every message the portal's templates and code mark for
translation, and the ones a language has no translation for.

    python -m marketplace.portal.catalog ja     # prints the missing messages as .po entries to fill in
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir

from .i18n import PACKAGE, load_catalogue

METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.do"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}


def marked_messages(root: Path = PACKAGE) -> dict[str, list[str]]:
    """msgid -> where it is used (file:line), for every message marked in the package. A message with a
    context (pgettext) is keyed "context\x04msgid", as gettext stores it."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(root), method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS):
        for msg in message if isinstance(message, tuple) else (message,):
            if msg:
                key = f"{context}\x04{msg}" if context else msg
                found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def _translated(catalogue, key: str) -> bool:
    context, sep, msg = key.partition("\x04")
    if sep:
        return catalogue.pgettext(context, msg) != msg
    return catalogue.gettext(key) != key


def missing(lang: str) -> dict[str, list[str]]:
    catalogue = load_catalogue(lang)
    return {m: where for m, where in marked_messages().items() if m.strip() and not _translated(catalogue, m)}


def _po_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


if __name__ == "__main__":
    lang = sys.argv[1] if len(sys.argv) > 1 else "ja"
    for key, where in sorted(missing(lang).items()):
        context, sep, msg = key.partition("\x04")
        ctx = f"msgctxt {_po_string(context)}\n" if sep else ""
        print(f"#: {' '.join(where[:3])}\n{ctx}msgid {_po_string(msg if sep else key)}\nmsgstr \"\"\n")
