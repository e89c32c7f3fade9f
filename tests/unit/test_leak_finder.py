"""tests.leaks.compact_jws_in, which the tenancy tests use to find a leaked JWS: it finds every real one, and not
the "eyJ" that random base64 (a CSRF token's signature, a nonce) holds by chance."""

from marketplace.crypto import jws
from marketplace.crypto.keys import KeyPair
from tests.leaks import compact_jws_in


def test_a_signed_jws_is_found_wherever_it_stands():
    token = jws.sign({"credentialSubject": {"name": "Sakura"}}, KeyPair.generate(), "vc+jwt")
    for text in (token, f"<td>{token}</td>", f'value="{token}"', f"Bearer {token}\n", f"a {token[:-10]}"):
        assert compact_jws_in(text), text
    header_only = token.split(".")[0]
    assert compact_jws_in(f"{header_only}..c2ln")  # a detached payload is a JWS too


def test_random_base64_with_eyj_inside_is_not_a_jws():
    csrf = "Ijk4ODY3eyJjNjY4YTM4ZDVlMWQ1NmM2YTgwNWM4NDg4ZDlkOTZjNjZmN2Ii.aw_kDA.j4UUEE5eyJpo_JDjSfU3LGuRh95Ws"
    assert compact_jws_in(f'<input name="csrf_token" value="{csrf}">') == []
    assert compact_jws_in("eyJub3QganNvbg.a.b") == []  # base64 of no JSON
    assert compact_jws_in("eyJhIjoxfQ.e30.c2ln") == []  # JSON, but no "alg": no JWS header
