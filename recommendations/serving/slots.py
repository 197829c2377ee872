"""Slot recipes: the defaults, merged with ``RECOMMENDATIONS_SLOTS``, as engine ``SlotRecipe``s."""

from __future__ import annotations

from typing import Any

from recommendations.conf import app_settings
from recommendations.engine.hybrid import Diversity, SlotRecipe

TRENDING_CHAIN = ["trending_in_category", "trending"]

DEFAULT_SLOTS: dict[str, dict[str, Any]] = {
    # the visitor's page: what they just did (session) + their history + content, then trending
    "for_you": {
        # "deep" contributes only while a trained deep model's offline evaluation beats the blend
        "sources": {"session": 1.0, "itemknn": 0.8, "ease": 0.8, "als": 0.4, "content": 0.3, "deep": 1.0},
        "diversity": {"method": "category_cap", "max_per_category": 4},
        "fallbacks": TRENDING_CHAIN,
        # new things on the home page: the visitor's 10 most recent products have their own slot
        "exclude_recent": 10,
    },
    # a product page (context {"product": id}); new items reach it through exploration
    "similar": {
        "sources": {"itemknn": 1.0, "ease": 0.6, "content": 0.5, "session": 0.2},
        "fallbacks": TRENDING_CHAIN,
        "exploration_share": 0.1,
    },
    # context {"product": id} or {"cart": [ids]}
    "bought_together": {
        "sources": {"bought_together": 1.0, "itemknn": 0.2},
        "limit": 6,
        "fallbacks": TRENDING_CHAIN,
    },
    # complete the cart: context {"cart": [ids]} or the visitor's live cart
    "cart": {
        "sources": {"bought_together": 1.0, "itemknn": 0.3, "session": 0.2},
        "fallbacks": TRENDING_CHAIN,
    },
    # context {"category": id} optional
    "trending": {
        "sources": {"trending": 1.0},
        "exclude_purchased": False,
        "diversity": {"method": "category_cap", "max_per_category": 5},
        "fallbacks": ["trending"],
    },
    "recently_viewed": {
        "sources": {"recently_viewed": 1.0},
        "exclude_purchased": False,
        "exclude_in_cart": False,
        "fallbacks": [],
        # the visitor's own history stays whole on a page that also shows it elsewhere
        "page_dedup": 0,
    },
    # the shopper's repeat purchases that are due again ("You buy this about every 30 days");
    # durables, which the shop's own orders show are not bought again, never appear
    "buy_again": {
        "sources": {"buy_again": 1.0},
        "exclude_purchased": False,
        "fallbacks": [],
        "page_dedup": 0,
    },
    # viewed or carted and not bought since, by intent and recency ("still thinking about it")
    "browsed_not_bought": {
        "sources": {"browsed": 1.0},
        "exclude_purchased": False,
        "exclude_in_cart": False,
        "fallbacks": [],
        "page_dedup": 0,
    },
    # context {"query": str} or the visitor's last search
    "search": {
        "sources": {"search": 1.0, "session": 0.2, "content": 0.2},
        "fallbacks": TRENDING_CHAIN,
    },
}

# Slots whose item-item sources explain themselves through the context items, not the history.
ANCHOR_KIND = {"similar": "similar", "bought_together": "bought_with", "cart": "bought_with"}

# Serving options a recipe may set beside the engine's ``SlotRecipe`` fields, with defaults:
# ``exclude_recent``: never show the visitor's N most recent distinct products (0: show them).
# ``page_dedup``: 1 leaves out of this slot what earlier slots of the same page show (and counts
# its own items as shown); 0 neither (a slot of the visitor's own history).
SERVING_OPTIONS: dict[str, int] = {"exclude_recent": 0, "page_dedup": 1}

_cache: dict[int, tuple[dict[str, SlotRecipe], dict[str, dict[str, int]]]] = {}


def _recipe(name: str, spec: dict[str, Any]) -> SlotRecipe:
    diversity = Diversity(**spec.get("diversity", {}))
    return SlotRecipe(
        name=name,
        sources=tuple((source, float(weight)) for source, weight in spec.get("sources", {}).items()),
        limit=int(spec.get("limit", app_settings.DEFAULT_LIMIT)),
        normalisation=spec.get("normalisation", "max"),
        exclude_purchased=spec.get("exclude_purchased", True),
        exclude_in_cart=spec.get("exclude_in_cart", True),
        diversity=diversity,
        fallbacks=tuple(spec.get("fallbacks", TRENDING_CHAIN)),
        exploration_share=float(spec.get("exploration_share", 0.0)),
    )


def _built() -> tuple[dict[str, SlotRecipe], dict[str, dict[str, int]]]:
    custom = app_settings.SLOTS
    cached = _cache.get(id(custom))
    if cached is not None:
        return cached
    merged = {name: dict(spec) for name, spec in DEFAULT_SLOTS.items()}
    for name, spec in custom.items():
        merged.setdefault(name, {}).update(spec)
    built = {name: _recipe(name, spec) for name, spec in merged.items()}
    options = {
        name: {key: max(int(spec.get(key, default)), 0) for key, default in SERVING_OPTIONS.items()}
        for name, spec in merged.items()
    }
    _cache.clear()
    _cache[id(custom)] = (built, options)
    return built, options


def recipes() -> dict[str, SlotRecipe]:
    """Every slot's recipe (defaults updated slot by slot, key by key, from the setting)."""
    return _built()[0]


def get(slot: str) -> SlotRecipe:
    available = recipes()
    try:
        return available[slot]
    except KeyError:
        raise ValueError(f"Unknown slot {slot!r}; valid slots: {', '.join(sorted(available))}") from None


def sources_customised(slot: str) -> bool:
    """Whether ``RECOMMENDATIONS_SLOTS`` sets this slot's sources (then they are served as set)."""
    return "sources" in (app_settings.SLOTS.get(slot) or {})


def option(slot: str, name: str) -> int:
    """A serving option of ``slot``'s recipe (see ``SERVING_OPTIONS``)."""
    get(slot)  # the same error for an unknown slot
    return _built()[1][slot][name]
