"""Human reasons for engine explanations ("Because you viewed X", "Trending in Y")."""

from __future__ import annotations

from recommendations.engine.hybrid import Explanation
from recommendations.serving.bundle import Bundle
from recommendations.serving.types import Recommendation

TEMPLATES = {
    "viewed": "Because you viewed {title}",
    "session": "Because you just viewed {title}",
    "similar": "Similar to {title}",
    "bought_with": "Often bought with {title}",
    "trending_in_category": "Trending in {title}",
    "trending": "Popular right now",
    "recently_viewed": "You viewed this recently",
    "search": "Matches your search “{query}”",
    "new_item": "New in the shop",
    "catalogue": "From our catalogue",
    # usually replaced by the source's own text ("You buy this about every 30 days")
    "buy_again": "You bought this before",
    "browsed": "Still thinking about it?",
}
GENERIC = "Recommended for you"


def reason(code: str, title: str | None = None, query: str = "") -> str:
    template = TEMPLATES.get(code, GENERIC)
    if "{title}" in template and not title:
        return GENERIC if code != "trending_in_category" else "Popular right now"
    return template.format(title=title, query=query)


def to_recommendation(
    bundle: Bundle,
    item: int,
    score: float,
    explanation: Explanation | None,
    query: str = "",
    text: str | None = None,
) -> Recommendation:
    """``text``: the item's own reason, written by its source (else the template of its code)."""
    if explanation is None:
        return Recommendation(bundle.ids[item], score, "blend", GENERIC, (), "")
    code = explanation.kind
    if code == "trending_in_category":
        cats = [c for c in explanation.evidence if 0 <= c < len(bundle.category_ids)]
        evidence = tuple(bundle.category_ids[c] for c in cats)
        title = bundle.category_labels[cats[0]] if cats else None
    else:
        items = [i for i in explanation.evidence if 0 <= i < bundle.n_items]
        evidence = tuple(bundle.ids[i] for i in items)
        title = bundle.titles[items[0]] if items else None
    return Recommendation(
        product_id=bundle.ids[item],
        score=score,
        source=explanation.source,
        reason=text or reason(code, title, query),
        evidence=evidence,
        reason_code=code,
    )
