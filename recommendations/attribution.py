"""Signed recommendation tokens: every rendered item carries one, so a click (and a purchase
within the attribution window) can be credited to the slot, the algorithm and the position."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core import signing

SALT = "recommendations.token"
# How long a token is accepted after it was rendered (a stale page clicked next week still counts).
MAX_AGE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Token:
    slot: str
    source: str  # the algorithm / recipe source that produced the item
    position: int
    product_id: str
    request_id: str


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def sign(token: Token) -> str:
    payload = [token.slot, token.source, token.position, token.product_id, token.request_id]
    return signing.dumps(payload, salt=SALT, compress=True)


def unsign(value: str, *, max_age: int = MAX_AGE_SECONDS) -> Token:
    """The token's content; raises ``signing.BadSignature`` (or ``SignatureExpired``) if forged."""
    slot, source, position, product_id, request_id = signing.loads(value, salt=SALT, max_age=max_age)
    return Token(str(slot), str(source), int(position), str(product_id), str(request_id))
