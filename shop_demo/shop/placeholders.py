"""Product pictures without photos: an SVG drawn from the product's department, category and name.

Each department has its own hue and each category a shade of it, so a grid of cards reads like a
catalogue; no network, no image library.
"""

from __future__ import annotations

import hashlib
from html import escape

from .models import Product

DEPARTMENT_HUES = {
    "electronics": 212,
    "home-kitchen": 28,
    "sports-outdoors": 140,
    "fashion": 330,
    "books-games": 265,
    "beauty-health": 178,
}


def _stable_int(text: str) -> int:
    return int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:8], 16)


def colours(product: Product) -> tuple[str, str, str]:
    """Background, accent and ink colours (HSL) for a product."""
    category = product.category
    department = category.parent or category
    hue = DEPARTMENT_HUES.get(department.slug, _stable_int(department.slug) % 360)
    hue = (hue + (_stable_int(category.slug) % 5 - 2) * 9) % 360
    return (f"hsl({hue} 60% 94%)", f"hsl({hue} 55% 62%)", f"hsl({hue} 45% 28%)")


def initials(name: str) -> str:
    words = [w for w in name.split() if w[:1].isalpha()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def product_svg(product: Product) -> str:
    background, accent, ink = colours(product)
    shape = _stable_int(product.slug) % 3
    if shape == 0:
        figure = f'<circle cx="200" cy="180" r="92" fill="{accent}" opacity="0.85"/>'
    elif shape == 1:
        figure = f'<rect x="112" y="92" width="176" height="176" rx="28" fill="{accent}" opacity="0.85"/>'
    else:
        figure = f'<path d="M200 80 L300 262 L100 262 Z" fill="{accent}" opacity="0.85"/>'
    label = escape(product.category.name.upper())  # escape last: "&amp;".upper() is not XML
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" role="img" '
        f'aria-label="{escape(product.name)}">'
        f'<rect width="400" height="400" fill="{background}"/>'
        f'<circle cx="340" cy="60" r="120" fill="{accent}" opacity="0.18"/>'
        f"{figure}"
        f'<text x="200" y="200" text-anchor="middle" dominant-baseline="central" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="64" font-weight="700" fill="#fff">'
        f"{escape(initials(product.name))}</text>"
        f'<text x="200" y="335" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="22" letter-spacing="3" fill="{ink}">{label}</text>'
        "</svg>"
    )
