"""Page cursors: opaque tokens this API issues for one donor's list, and accepts only back.

A store says where a page ended as a position of its own (a sort key, an offset). The
client gets that position with a keyed MAC over it and the donor's id, so a cursor can't
be forged, edited, extended, or carried over to another donor's list; ``first`` is not in
it, so a client may change the page size between pages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

# HMAC-SHA256 truncated to 128 bits: forging one needs 2**128 guesses, each a request.
TAG_BYTES: Final = 16
# A position is a DynamoDB sort key (under 100 bytes); anything much longer isn't ours.
MAX_CURSOR_LENGTH: Final = 512
# Domain separation: the key is derived from a secret that also keys other things.
_KEY_LABEL: Final = b"donations/page-cursor/v1"


class InvalidCursorError(ValueError):
    """Not a cursor this API issued for this donor's list."""


class PageCursors:
    """Issues cursors for store positions, and opens only the ones it issued.

    Keyed by a random key of this process until ``use_secret`` gives it the stage's: the
    secret is read at start-up, or after a SnapStart restore (never into the snapshot).
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    @classmethod
    def from_secret(cls, secret: str) -> PageCursors:
        cursors = cls()
        cursors.use_secret(secret)
        return cursors

    def use_secret(self, secret: str) -> None:
        """Key by a secret shared with other uses, through a key derived for cursors alone."""
        self._key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()

    def issue(self, donor_id: str, position: str) -> str:
        payload = position.encode()
        return _encode(self._tag(donor_id, payload) + payload)

    def open(self, donor_id: str, cursor: str) -> str:
        """The position a cursor stands for; raises ``InvalidCursorError`` for any other."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursorError("too long")
        try:
            raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        except ValueError:  # binascii.Error, or a character outside ASCII
            raise InvalidCursorError("not base64url") from None
        tag, payload = raw[:TAG_BYTES], raw[TAG_BYTES:]
        # Compared in constant time; re-encoding refuses the other spellings of the same bytes.
        if not hmac.compare_digest(tag, self._tag(donor_id, payload)) or _encode(raw) != cursor:
            raise InvalidCursorError("not issued for this list")
        return payload.decode()

    def _tag(self, donor_id: str, payload: bytes) -> bytes:
        # Donor ids never hold a NUL (validate_donor_id), so the message splits one way only.
        message = donor_id.encode() + b"\0" + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()[:TAG_BYTES]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
