"""Signed-note checkpoints are read strictly (C2SP tlog-checkpoint and signed-note)."""

import base64

import pytest

from marketplace.crypto.b64 import unb64u
from marketplace.crypto.keys import KeyPair
from marketplace.domain import merkle
from marketplace.tlog import note

ORIGIN = "log.example/test"
KEY = KeyPair.generate()
PUBLIC = unb64u(KEY.public_jwk["x"])
VKEY = note.verifier_key(ORIGIN, PUBLIC)
ROOT = merkle.leaf_hash(b"x")
ROOT_B64 = base64.b64encode(ROOT).decode()
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def signed(text: str) -> str:
    return note.sign(text, ORIGIN, KEY, PUBLIC)


def other_signature(name: str = "witness.example") -> str:
    other = KeyPair.generate()
    blob = note.key_id(name, unb64u(other.public_jwk["x"])) + other.sign(b"anything")
    return f"{note.DASH} {name} {base64.b64encode(blob).decode()}\n"


GOOD = signed(note.body(ORIGIN, 7, ROOT))


def test_a_good_checkpoint_opens():
    assert note.open_note(GOOD, VKEY) == (ORIGIN, 7, ROOT)
    assert note.open_note(signed(note.body(ORIGIN, 0, ROOT)), VKEY)[1] == 0


def test_well_formed_signatures_by_other_keys_are_ignored():
    assert note.open_note(GOOD + other_signature(), VKEY) == (ORIGIN, 7, ROOT)
    assert note.open_note(GOOD + other_signature(ORIGIN), VKEY) == (ORIGIN, 7, ROOT)  # same name, other key


@pytest.mark.parametrize("size", ["01", "00", "+1", "-1", " 1", "1 ", "1_0", "\u0661", "\uff11", "0x1", "",
                                  str(2**64)])
def test_tree_size_is_plain_ascii_decimal(size):
    with pytest.raises(note.NoteError, match="tree size"):
        note.open_note(signed(f"{ORIGIN}\n{size}\n{ROOT_B64}\n"), VKEY)


@pytest.mark.parametrize("root", [
    base64.b64encode(ROOT[:31]).decode(),                       # 31 bytes
    base64.b64encode(ROOT + b"\0").decode(),                    # 33 bytes
    ROOT_B64.rstrip("="),                                       # padding missing
    ROOT_B64[:-2] + ALPHABET[ALPHABET.index(ROOT_B64[-2]) ^ 1] + "=",  # a spare bit set: same bytes, other text
    base64.urlsafe_b64encode(b"\xff" * 32).decode(),            # base64url, not base64
    ROOT_B64[:10] + " " + ROOT_B64[10:],
])
def test_root_is_32_bytes_in_strict_base64(root):
    with pytest.raises(note.NoteError, match="root"):
        note.open_note(signed(f"{ORIGIN}\n7\n{root}\n"), VKEY)


@pytest.mark.parametrize("origin", ["", f"{ORIGIN}\r", f"{ORIGIN}\x07", f"{ORIGIN}\x7f", f"\x00{ORIGIN}"])
def test_origin_has_no_control_characters(origin):
    with pytest.raises(note.NoteError, match="origin"):
        note.open_note(signed(f"{origin}\n7\n{ROOT_B64}\n"), VKEY)


@pytest.mark.parametrize(("text", "words"), [(f"{ORIGIN}\n7\n", "three lines"),
                                             (f"{ORIGIN}\n7\n{ROOT_B64}\n\x07ext\n", "extension line")])
def test_body_is_three_lines_then_well_formed_extensions(text, words):
    with pytest.raises(note.NoteError, match=words):
        note.open_note(signed(text), VKEY)


def test_extension_lines_are_ignored():
    """C2SP tlog-checkpoint: lines after the root hash are extensions, which a verifier may not know."""
    assert note.open_note(signed(f"{ORIGIN}\n7\n{ROOT_B64}\nwitness-count 2\nother ext\n"), VKEY)[1] == 7


@pytest.mark.parametrize("tail", [
    "garbage line\n",
    f"{note.DASH} name-only\n",
    f"{note.DASH} witness.example !!!!\n",                      # not base64
    f"{note.DASH} witness.example AAAA\n",                      # under 5 bytes
    f"{note.DASH} wit+ness AAAAAAAA\n",                         # "+" in a key name
    f"{note.DASH}  AAAAAAAA\n",                                 # empty name
    "\n",                                                       # a blank line among signatures
])
def test_one_malformed_signature_line_refuses_the_note(tail):
    with pytest.raises(note.NoteError, match="malformed"):
        note.open_note(GOOD + tail, VKEY)


def test_a_note_ends_with_a_newline_and_has_a_signature():
    with pytest.raises(note.NoteError, match="newline"):
        note.open_note(GOOD.rstrip("\n"), VKEY)
    with pytest.raises(note.NoteError, match="signature"):
        note.open_note(note.body(ORIGIN, 7, ROOT) + "\n", VKEY)


def test_a_remembered_signature_check_answers_as_a_fresh_one():
    """open_note's memo (online verification shares it across requests) is keyed by the signed bytes: a note
    with another body, or the same body under another signature, is checked afresh, and a refused note stays
    refused however often it comes."""
    class Memo(dict):
        def put(self, key, value):
            self[key] = value
            return value

    memo = Memo()
    for _ in range(2):
        assert note.open_note(GOOD, VKEY, memo) == (ORIGIN, 7, ROOT)
    assert len(memo) == 1 and next(iter(memo.values())) is True
    body, _, block = GOOD.partition("\n\n")
    forged_body = body.replace("\n7\n", "\n8\n") + "\n\n" + block  # the signature of size 7 under size 8
    other_key = note.sign(note.body(ORIGIN, 7, ROOT), ORIGIN, KeyPair.generate(), PUBLIC)  # right key id, wrong key
    for bad in (forged_body, other_key):
        for _ in range(2):
            with pytest.raises(note.NoteError, match="no valid signature"):
                note.open_note(bad, VKEY, memo)
    assert sorted(memo.values()) == [False, False, True]


def test_a_note_parsed_before_is_still_verified_every_time():
    """open_note keeps the parse of a note text (every receipt of one batch carries the same checkpoint), never
    the verdict: the same text under another key, or with its signature swapped, is refused after any number
    of good opens, and a malformed text keeps failing (errors are not kept)."""
    other = KeyPair.generate()
    other_vkey = note.verifier_key(ORIGIN, unb64u(other.public_jwk["x"]))
    forged = note.sign(note.body(ORIGIN, 7, ROOT), ORIGIN, other, unb64u(other.public_jwk["x"]))  # same body
    for _ in range(3):
        assert note.open_note(GOOD, VKEY) == (ORIGIN, 7, ROOT)
        with pytest.raises(note.NoteError, match="no valid signature"):
            note.open_note(GOOD, other_vkey)
        with pytest.raises(note.NoteError, match="no valid signature"):
            note.open_note(forged, VKEY)
        with pytest.raises(note.NoteError, match="blank line"):
            note.open_note(GOOD.replace("\n\n", "\n"), VKEY)
    assert note.open_note(forged, other_vkey) == (ORIGIN, 7, ROOT)
    long = signed(note.body(ORIGIN, 7, ROOT) + "x" * (note.MAX_CACHED + 1) + "\n")  # an extension line
    assert note.open_note(long, VKEY) == (ORIGIN, 7, ROOT)  # not kept (too long), opened all the same
