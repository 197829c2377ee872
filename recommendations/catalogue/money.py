"""Amounts of money as people read them: with the shop's currency (``RECOMMENDATIONS_CURRENCY``,
an ISO 4217 code), thousands separated, two decimals: "$4,499.00", "€12.50", "1,200.00 CHF"."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from recommendations.conf import app_settings

NONE = "\u2013"  # an en dash, as the admin writes a missing value
# Currencies written with a symbol before the amount; any other code follows the amount.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}


def money(amount: Decimal | float | int | str | None, *, signed: bool = False) -> str:
    """``amount`` in the shop's currency (NONE for None). ``signed`` writes "+" for gains."""
    if amount is None or amount == "":
        return NONE
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if not value.is_finite():
        return NONE
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    digits = f"{abs(value):,.2f}"
    code = str(app_settings.CURRENCY or "").upper()
    if code in SYMBOLS:
        return f"{sign}{SYMBOLS[code]}{digits}"
    return f"{sign}{digits} {code}".rstrip()
