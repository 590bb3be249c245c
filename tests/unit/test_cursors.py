"""Page cursors open only as issued: for the same donor, under the same key, unaltered."""

from __future__ import annotations

import base64

import pytest

from donations.domain.cursors import MAX_CURSOR_LENGTH, InvalidCursorError, PageCursors

POSITION = "DONATION#2026-11-01T10:00:00+00:00#0b6f7a52-1c1e-4d0e-9f5e-5a7b1b2c3d4e"
CURSORS = PageCursors.from_secret("test-secret")


def test_a_cursor_opens_to_the_position_it_was_issued_for() -> None:
    cursor = CURSORS.issue("donor-1", POSITION)

    assert CURSORS.open("donor-1", cursor) == POSITION
    assert "=" not in cursor


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


ISSUED = CURSORS.issue("donor-1", POSITION)


@pytest.mark.parametrize(
    ("donor_id", "cursor"),
    [
        ("donor-2", ISSUED),  # another donor's list
        ("donor-1", PageCursors.from_secret("other-secret").issue("donor-1", POSITION)),
        ("donor-1", b64(POSITION.encode())),  # the old, unsigned format
        ("donor-1", b64(b"DONATION#")),  # any sort-key prefix
        ("donor-1", ISSUED + "AAAA"),  # bytes appended
        ("donor-1", ISSUED[:-4]),  # bytes cut
        ("donor-1", ISSUED[:10] + ("B" if ISSUED[10] != "B" else "C") + ISSUED[11:]),
        ("donor-1", ISSUED + "="),  # padding: another spelling of the same bytes
        ("donor-1", " " + ISSUED),
        ("donor-1", ""),
        ("donor-1", "not a cursor!"),
        ("donor-1", "\u0080"),  # found by make fuzz: b64decode raised ValueError, not Error
        ("donor-1", "A" * (MAX_CURSOR_LENGTH + 1)),
    ],
    ids=[
        "other donor",
        "other key",
        "unsigned",
        "prefix",
        "appended",
        "cut",
        "edited",
        "padded",
        "space",
        "empty",
        "not base64",
        "non-ascii",
        "too long",
    ],
)
def test_anything_else_is_refused(donor_id: str, cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        CURSORS.open(donor_id, cursor)


def test_the_same_secret_opens_cursors_across_containers() -> None:
    assert PageCursors.from_secret("test-secret").open("donor-1", ISSUED) == POSITION
