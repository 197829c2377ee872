"""Which campaigns may be shown on this page to this shopper.

Each targeting list a campaign sets must match (lists left empty match everything):

* products: the page is one of the listed product pages (context ``product``);
* keywords: a keyword (or phrase) occurs in the search query (context ``query``);
* categories: the page's category, the page product's category path, or one of the shopper's
  live interests (behavioural targeting) is listed;
* segments: the shopper's portrait segment is listed (no portrait: no match).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from recommendations.ads.catalog import CampaignSnapshot, normalise


@dataclass
class AdContext:
    category: str | None = None
    product: str | None = None
    product_categories: tuple[str, ...] = ()
    query: str = ""
    interest: dict[str, float] = field(default_factory=dict)
    # Called at most once, only when a campaign targets segments (one query).
    segment_loader: Callable[[], str | None] = lambda: None
    _segment: tuple[str | None] | None = None

    @property
    def segment(self) -> str | None:
        if self._segment is None:
            self._segment = (self.segment_loader(),)
        return self._segment[0]

    @property
    def page_categories(self) -> set[str]:
        found = set(self.product_categories)
        if self.category:
            found.add(self.category)
        return found


def _keyword_hit(keywords: tuple[str, ...], query: str) -> bool:
    padded = f" {normalise(query)} "
    return any(f" {keyword} " in padded for keyword in keywords)


def matches(campaign: CampaignSnapshot, ctx: AdContext) -> bool:
    if campaign.products and (ctx.product is None or ctx.product not in campaign.products):
        return False
    if campaign.keywords and not _keyword_hit(campaign.keywords, ctx.query):
        return False
    if campaign.categories and not (
        campaign.categories & ctx.page_categories or campaign.categories & ctx.interest.keys()
    ):
        return False
    return not (campaign.segments and ctx.segment not in campaign.segments)
