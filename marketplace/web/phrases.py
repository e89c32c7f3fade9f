"""Messages from services and schemas (English, sometimes with values in them) in the reader's language.

A feature lists the sentences its pages show: exact ones, and patterns whose groups carry the values
(named groups, or positional ones passed as a, b, c). A sentence nobody listed is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence


def in_words(message: str, exact: Mapping[str, object] = {}, patterns: Sequence[tuple[re.Pattern, object]] = ()) -> str:
    if not message:
        return ""
    text = exact.get(message)
    if text is not None:
        return str(text)
    for pattern, words in patterns:
        m = pattern.fullmatch(message)
        if m:
            values = m.groupdict() or dict(zip("abc", m.groups(), strict=False))
            return str(words) % values
    return message
