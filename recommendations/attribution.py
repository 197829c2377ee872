"""Signed recommendation tokens: every rendered item carries one, so a click (and a purchase
within the attribution window) can be credited to the slot, the algorithm and the position.

A token is ``r1~slot~source~position~request_id~product_id`` signed with a timestamp
(:class:`django.core.signing.TimestampSigner`, ``SALT``): one HMAC and no JSON, base64 or zlib
per item. Tokens in the older ``signing.dumps`` format (and tokens whose slot or source name holds
a ``~``) are still signed and read that way, so pages rendered before an upgrade keep attributing.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "recommendations.token"
# How long a token is accepted after it was rendered (a stale page clicked next week still counts).
MAX_AGE_SECONDS = 7 * 24 * 3600
SEP = "~"  # left as is in URLs (quote_plus), unlike "|" or ":"
PREFIX = f"r1{SEP}"


@dataclass(frozen=True, slots=True)
class Token:
    slot: str
    source: str  # the algorithm / recipe source that produced the item
    position: int
    product_id: str
    request_id: str


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


_signers: dict[tuple, signing.TimestampSigner] = {}


def _signer() -> signing.TimestampSigner:
    """One signer per secret (Django's signers are immutable; building one reads the settings)."""
    key = (settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())))
    signer = _signers.get(key)
    if signer is None:
        _signers.clear()
        signer = _signers[key] = signing.TimestampSigner(salt=SALT)
    return signer


def sign(token: Token) -> str:
    if SEP in token.slot or SEP in token.source or SEP in token.request_id:
        payload = [token.slot, token.source, token.position, token.product_id, token.request_id]
        return signing.dumps(payload, salt=SALT, compress=True)
    fields = (token.slot, token.source, str(int(token.position)), token.request_id, token.product_id)
    value = PREFIX + SEP.join(fields)
    return _signer().sign(value)


_keys: dict[str, bytes] = {}
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _key() -> bytes:
    """The HMAC key ``TimestampSigner(salt=SALT)`` signs with, derived once per secret (Django
    derives it again for every signature)."""
    secret = settings.SECRET_KEY
    key = _keys.get(secret)
    if key is None:
        _keys.clear()
        key = _keys[secret] = hashlib.sha256(f"{SALT}signer".encode() + signing.force_bytes(secret)).digest()
    return key


def _signed(values: Iterable[str]) -> list[str]:
    """``TimestampSigner(salt=SALT).sign(value)`` of each value: one timestamp and one derived key
    for all of them, base64 without ``urlsafe_b64encode``'s two Python-level wrappers."""
    stamp = signing.b62_encode(int(time.time()))
    key, digest, b64 = _key(), hmac.digest, binascii.b2a_base64
    out = []
    for text in values:
        value = f"{text}:{stamp}"
        signature = b64(digest(key, value.encode(), "sha256"), newline=False).translate(_URLSAFE)
        out.append(f"{value}:{signature.rstrip(b'=').decode()}")
    return out


def sign_all(tokens: Sequence[Token]) -> list[str]:
    """``[sign(t) for t in tokens]`` (the same strings, as ``unsign`` reads them) at a fraction of
    the cost: one timestamp and one derived key for the whole slot."""
    if any(SEP in t.slot or SEP in t.source or SEP in t.request_id for t in tokens):
        return [sign(t) for t in tokens]
    return _signed(
        f"{PREFIX}{t.slot}{SEP}{t.source}{SEP}{int(t.position)}{SEP}{t.request_id}{SEP}{t.product_id}"
        for t in tokens
    )


def token_frame(slot: str, source: str, position: int, product_id: str) -> tuple[str, str] | None:
    """A token's text on either side of its request id, worked out once for an item that many
    requests sign (a cached answer); None when the token takes the older format (a ``~`` in the
    slot or the source), which only :func:`sign` writes."""
    if SEP in slot or SEP in source:
        return None
    return f"{PREFIX}{slot}{SEP}{source}{SEP}{int(position)}{SEP}", f"{SEP}{product_id}"


def sign_frames(frames: Sequence[tuple[str, str]], request_id: str) -> list[str]:
    """The tokens of ``frames`` (see :func:`token_frame`) for ``request_id``: the strings
    :func:`sign_all` gives for the same tokens. ``request_id`` holds no ``~``."""
    if SEP in request_id:
        raise ValueError("A request id with '~' takes the older token format; use sign_all().")
    return _signed(f"{head}{request_id}{tail}" for head, tail in frames)


def unsign(value: str, *, max_age: int = MAX_AGE_SECONDS) -> Token:
    """The token's content; raises ``signing.BadSignature`` (or ``SignatureExpired``) if forged."""
    if not value.startswith(PREFIX):
        slot, source, position, product_id, request_id = signing.loads(value, salt=SALT, max_age=max_age)
        return Token(str(slot), str(source), int(position), str(product_id), str(request_id))
    payload = _signer().unsign(value, max_age=max_age)
    try:
        slot, source, position, request_id, product_id = payload[len(PREFIX) :].split(SEP, 4)
        return Token(slot, source, int(position), product_id, request_id)
    except ValueError as exc:  # signed by us, so never in practice
        raise signing.BadSignature("Malformed recommendation token") from exc


class InvalidToken(ValueError):
    """A token that cannot be credited: forged, expired, or issued for another product."""


def verify(value: str, product_id: str | None = None) -> Token:
    """The token's content if it is genuine and (when given) was issued for ``product_id``."""
    try:
        token = unsign(value)
    except signing.BadSignature as exc:
        raise InvalidToken("Invalid or expired recommendation token.") from exc
    if product_id and str(product_id) != token.product_id:
        raise InvalidToken("The recommendation token was issued for another product.")
    return token
