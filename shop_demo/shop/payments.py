"""A fake card gateway: Stripe's famous test number succeeds, every other card is declined."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

APPROVED_PREFIX = "4242"


@dataclass(frozen=True)
class PaymentResult:
    approved: bool
    reference: str = ""
    message: str = ""


def normalise_card_number(card_number: str) -> str:
    return "".join(ch for ch in card_number if ch.isdigit())


def charge(card_number: str, amount: Decimal) -> PaymentResult:
    """Charge ``amount``: approved for a 16-digit number starting 4242 (e.g. 4242 4242 4242 4242)."""
    digits = normalise_card_number(card_number)
    if len(digits) != 16:
        return PaymentResult(False, message="Please enter the 16-digit card number.")
    if not digits.startswith(APPROVED_PREFIX):
        return PaymentResult(False, message="Your card was declined. Please try another card.")
    reference = "pay_" + hashlib.sha256(f"{digits}:{amount}".encode()).hexdigest()[:16]
    return PaymentResult(True, reference=reference)
