"""``{% load recommendations_format %}``: ``{{ amount|money }}`` writes an amount in the shop's
currency ("$4,499.00"), ``{{ n|ordinal }}`` an English ordinal ("42nd")."""

from __future__ import annotations

from typing import Any

from django import template

from recommendations.catalogue.money import NONE
from recommendations.catalogue.money import money as format_money

register = template.Library()


@register.filter
def money(amount: Any) -> str:
    return format_money(amount)


def ordinal_of(n: int) -> str:
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st, 22nd, 42nd, 101st, 111th."""
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


@register.filter
def ordinal(value: Any) -> str:
    try:
        return ordinal_of(int(value))
    except (TypeError, ValueError):
        return str(value)


@register.filter
def percentile(fraction: Any) -> str:
    """A 0..1 fraction as an ordinal percentile: 0.42 -> "42nd percentile"."""
    try:
        return f"{ordinal_of(round(float(fraction) * 100))} percentile"
    except (TypeError, ValueError):
        return NONE
