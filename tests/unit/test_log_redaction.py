"""logs.redact skips its substitutions when the text has none of the words they need: the same result as running
every substitution, for any text (hypothesis builds texts from those words, their neighbours and noise)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.observability import logs

_PIECES = st.sampled_from([
    "Authorization", "authorisation", "AUTHORIZATION", "Proxy-Authorization", "Bearer", "bearer", "Basic", "Token",
    "client_secret", "SECRET", "password", "passwd", "PassWord", "access_token", "api_key", "API-KEY", "apikey",
    "whsec_", "WHSEC_", "postgresql://", "https://", "u:p@", "@", ":", "=", "&", ",", ";", "'", '"', "{", "}", "[",
    "]", " ", "\n", "\t", "abc.def.ghi", "dXNlcjpwYXNz", "s3cr3t", "GET /api/v1/policies/1 200 3.1ms", "/x",
    "api", "auth", "sec", "pass", "tok", "key", "://", "mp:pa55@db:5432/mp", "[redacted]",
])

_NAMES = st.sampled_from(["Authorization", "authorization", "Bearer", "bearer", "client_secret", "password",
                          "access_token", "x-api-key", "whsec_", "postgresql://u", "https://h", "name", "path"])
_SEPARATORS = st.sampled_from([" ", ": ", "=", "': '", '": "', ":", "="])
_VALUES = st.sampled_from(["abc.def.ghi", "Bearer abc.def.ghi", "Basic dXNlcjpwYXNz", "s3cr3t", "x",
                           "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "p@db/x", "pa55@db:5432/mp"])
_PAIRS = st.tuples(_NAMES, _SEPARATORS, _VALUES).map("".join)  # "name: value", the shapes the patterns look for


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(_PIECES, _PAIRS, st.text(max_size=6)), max_size=14).map("".join))
def test_redact_equals_every_substitution(text):
    assert logs.redact(text) == logs.redact_every_pattern(text)


def test_a_line_without_those_words_is_returned_as_it_is():
    line = "GET /api/v1/obligations/a341d1c6-633d-4d57-a9b3-19341f8ce426/offset 200 3.1ms"
    assert logs.redact(line) is line
    assert logs.redact("Authorization: Bearer abc.def.ghi") == "Authorization: Bearer [redacted]"
