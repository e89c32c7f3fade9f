"""Every message the portal marks for translation has a Japanese translation, with the same placeholders."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from marketplace.portal.catalog import marked_messages, missing
from marketplace.portal.i18n import catalogue_files

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def test_every_marked_message_has_a_japanese_translation():
    gaps = missing("ja")
    assert not gaps, "untranslated (python -m marketplace.portal.catalog ja):\n" + "\n".join(
        f"{m!r} at {w[0]}" for m, w in sorted(gaps.items())[:40])


def test_the_catalogue_finds_messages_in_templates_and_code():
    found = marked_messages()
    assert "Sign in" in found and any(w.startswith("portal/templates/") for w in found["Sign in"])
    assert "Too many failed sign-ins for this email. Try again in %(n)d minutes." in found  # from Python


def test_translations_keep_placeholders_and_are_not_fuzzy():
    files = catalogue_files("ja")
    assert files
    for path in files:
        with path.open("rb") as f:
            catalog = read_po(f, locale="ja")
        for msg in catalog:
            if not msg.id:
                continue
            assert not msg.fuzzy, f"{path.name}: fuzzy {msg.id!r}"
            ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
            strs = msg.string if isinstance(msg.string, tuple) else (msg.string,)
            want = set(PLACEHOLDER.findall(" ".join(ids)))
            for s in strs:
                assert s, f"{path.name}: empty translation of {msg.id!r}"
                assert set(PLACEHOLDER.findall(s)) == want, f"{path.name}: placeholders differ in {msg.id!r}"
