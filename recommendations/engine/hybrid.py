"""Pure blending of several recommendation sources into one explained, filtered, diverse slot.

The caller (a Django selector, or the offline runner) asks each source for a dense score vector
over the catalogue and passes them here with a :class:`SlotRecipe` and a :class:`SlotContext`.
:func:`blend` then

1. normalises each source (``"max"``: divide by the best score; ``"rank"``: ``1/(rank+1)`` over
   the source's positive scores) and sums them with the recipe's weights;
2. removes filtered items (purchased, in cart, unavailable, explicit excludes) and applies the
   category / price masks;
3. fills a short list from the fallback chain: trending in the categories the visitor touched,
   then global trending;
4. reserves ``exploration_share`` of the slots for new items (seeded, deterministic);
5. diversifies with MMR over an item-item similarity or a per-category cap;
6. returns :class:`Recommendation` rows, each with at least one :class:`Explanation`.

Nothing here knows about products or Django: items are indices, categories are integer codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from .base import top_k

Normalisation = Literal["max", "rank"]
FALLBACK_CATEGORY = "trending_in_category"
FALLBACK_GLOBAL = "trending"


@dataclass(frozen=True)
class Explanation:
    """Why an item is shown: ``source`` produced it because of ``evidence``.

    ``evidence`` holds item indices (e.g. the viewed item for ``kind="viewed"``, the co-bought item
    for ``"bought_with"``), except for ``kind="trending_in_category"`` where it holds category codes.
    """

    source: str
    evidence: tuple[int, ...]
    kind: str


@dataclass(frozen=True)
class Recommendation:
    item: int
    score: float
    explanations: tuple[Explanation, ...]


@dataclass(frozen=True)
class SourceScores:
    """One source's opinion: dense ``scores`` (n_items,), <= 0 or non-finite means "no opinion".

    ``evidence`` maps an item to the items that caused it (see :func:`evidence_from_similarity`);
    ``default_evidence`` is used for items missing there (e.g. the session's last items).
    """

    scores: np.ndarray
    kind: str
    evidence: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    default_evidence: tuple[int, ...] = ()


@dataclass(frozen=True)
class Diversity:
    """``"mmr"`` (needs a similarity), ``"category_cap"`` (needs item categories) or ``"none"``."""

    method: Literal["none", "mmr", "category_cap"] = "none"
    mmr_lambda: float = 0.7
    max_per_category: int = 3
    pool_factor: int = 5


@dataclass(frozen=True)
class SlotRecipe:
    """What a slot shows: weighted sources, filters, size, diversity, fallbacks and exploration."""

    name: str
    sources: tuple[tuple[str, float], ...]
    limit: int = 10
    normalisation: Normalisation = "max"
    exclude_purchased: bool = True
    exclude_in_cart: bool = True
    exclude_unavailable: bool = True
    categories: tuple[int, ...] | None = None
    min_price: float | None = None
    max_price: float | None = None
    diversity: Diversity = field(default_factory=Diversity)
    fallbacks: tuple[str, ...] = (FALLBACK_CATEGORY, FALLBACK_GLOBAL)
    exploration_share: float = 0.0

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError("limit must be >= 0")
        if not 0.0 <= self.exploration_share <= 1.0:
            raise ValueError("exploration_share must be within [0, 1]")
        unknown = set(self.fallbacks) - {FALLBACK_CATEGORY, FALLBACK_GLOBAL}
        if unknown:
            raise ValueError(f"unknown fallbacks: {sorted(unknown)}")


@dataclass(frozen=True)
class SlotContext:
    """Per-request facts, as item index arrays / per-item arrays over the catalogue."""

    n_items: int
    purchased: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    in_cart: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    unavailable: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    exclude: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    item_category: np.ndarray | None = None  # int codes, -1 unknown
    item_price: np.ndarray | None = None
    touched_categories: tuple[int, ...] = ()
    trending: np.ndarray | None = None  # dense popularity/trend scores
    new_items: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    similarity: sp.csr_matrix | None = None  # item x item, for MMR
    seed: int = 0


def normalise(scores: np.ndarray, method: Normalisation = "max") -> np.ndarray:
    """Scale one source's scores to [0, 1]; non-positive / non-finite scores become 0."""
    # one float64 copy changed in place (a request scores every item: 1M products made the
    # temporaries of np.where(np.isfinite(s) & (s > 0), s, 0.0) a third of a miss's time)
    s = np.array(scores, dtype=np.float64)
    s[~(s > 0)] = 0.0  # non-positive and NaN
    top = s.max() if s.size else 0.0
    if top == np.inf:  # rare: +inf is not a score either
        s[s == np.inf] = 0.0
        top = s.max()
    if method == "max":
        if top > 0:
            s /= top
        return s
    if method == "rank":
        out = np.zeros_like(s)
        positive = np.flatnonzero(s > 0)
        order = positive[np.lexsort((positive, -s[positive]))]
        out[order] = 1.0 / np.arange(1, len(order) + 1)
        return out
    raise ValueError(f"unknown normalisation {method!r}")


def blend_scores(
    sources: Mapping[str, np.ndarray], weights: Mapping[str, float], method: Normalisation = "max"
) -> np.ndarray:
    """Weighted sum of normalised score vectors; sources missing from ``sources`` are skipped."""
    total: np.ndarray | None = None
    for name, weight in weights.items():
        if name not in sources or not weight:
            continue
        part = weight * normalise(sources[name], method)
        total = part if total is None else total + part
    if total is None:
        raise ValueError("no source with a weight was given")
    return total


def allowed_mask(recipe: SlotRecipe, ctx: SlotContext) -> np.ndarray:
    """Boolean mask of items the slot may show."""
    mask = np.ones(ctx.n_items, dtype=bool)
    banned = [ctx.exclude]
    if recipe.exclude_purchased:
        banned.append(ctx.purchased)
    if recipe.exclude_in_cart:
        banned.append(ctx.in_cart)
    if recipe.exclude_unavailable:
        banned.append(ctx.unavailable)
    for idx in banned:
        idx = np.asarray(idx, dtype=np.int64)
        mask[idx[(idx >= 0) & (idx < ctx.n_items)]] = False
    if recipe.categories is not None:
        if ctx.item_category is None:
            raise ValueError("a category filter needs item_category")
        mask &= np.isin(ctx.item_category, np.asarray(recipe.categories))
    if recipe.min_price is not None or recipe.max_price is not None:
        if ctx.item_price is None:
            raise ValueError("a price filter needs item_price")
        price = np.asarray(ctx.item_price, dtype=np.float64)
        if recipe.min_price is not None:
            mask &= price >= recipe.min_price
        if recipe.max_price is not None:
            mask &= price <= recipe.max_price
    return mask


def evidence_from_similarity(
    similarity: sp.csr_matrix, history: np.ndarray, candidates: np.ndarray, top: int = 1
) -> dict[int, tuple[int, ...]]:
    """For each candidate, the ``top`` history items that contribute most via ``similarity``."""
    history = np.asarray(history, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    if not len(history) or not len(candidates):
        return {}
    block = similarity[history][:, candidates].toarray()  # history x candidates
    out: dict[int, tuple[int, ...]] = {}
    for col, item in enumerate(candidates.tolist()):
        contrib = block[:, col]
        order = np.argsort(-contrib, kind="stable")[:top]
        chosen = tuple(int(history[i]) for i in order if contrib[i] > 0)
        if chosen:
            out[item] = chosen
    return out


def _explain(
    item: int, parts: dict[str, np.ndarray], sources: Mapping[str, SourceScores]
) -> list[Explanation]:
    ranked = sorted(((float(v[item]), name) for name, v in parts.items() if v[item] > 0), reverse=True)
    out = []
    for _, name in ranked:
        src = sources[name]
        out.append(Explanation(name, tuple(src.evidence.get(item, src.default_evidence)), src.kind))
    return out


def _diversify(
    order: np.ndarray, score: np.ndarray, limit: int, recipe: SlotRecipe, ctx: SlotContext
) -> list[int]:
    div = recipe.diversity
    if div.method == "none" or len(order) <= 1:
        return order[:limit].tolist()
    if div.method == "category_cap":
        if ctx.item_category is None:
            raise ValueError("category_cap diversity needs item_category")
        counts: dict[int, int] = {}
        chosen = []
        for item in order.tolist():
            cat = int(ctx.item_category[item])
            if cat >= 0 and counts.get(cat, 0) >= div.max_per_category:
                continue
            counts[cat] = counts.get(cat, 0) + 1
            chosen.append(item)
            if len(chosen) == limit:
                break
        return chosen
    if ctx.similarity is None:
        raise ValueError("mmr diversity needs a similarity matrix")
    pool = order[: max(limit * div.pool_factor, limit)]
    rel = score[pool] / (score[pool].max() or 1.0)
    sim = ctx.similarity[pool][:, pool].toarray()
    np.fill_diagonal(sim, 0.0)
    top = sim.max() if sim.size else 0.0
    if top > 0:
        sim = sim / top
    chosen_idx: list[int] = []
    max_sim = np.zeros(len(pool))
    available = np.ones(len(pool), dtype=bool)
    while len(chosen_idx) < min(limit, len(pool)):
        mmr = div.mmr_lambda * rel - (1.0 - div.mmr_lambda) * max_sim
        mmr[~available] = -np.inf
        best = int(np.argmax(mmr))
        chosen_idx.append(best)
        available[best] = False
        max_sim = np.maximum(max_sim, sim[best])
    return [int(pool[i]) for i in chosen_idx]


def blend(recipe: SlotRecipe, sources: Mapping[str, SourceScores], ctx: SlotContext) -> list[Recommendation]:
    """Build one slot: blended, filtered, topped up by fallbacks, explored and diversified."""
    mask = allowed_mask(recipe, ctx)
    parts = {
        name: weight * normalise(sources[name].scores, recipe.normalisation)
        for name, weight in recipe.sources
        if name in sources and weight > 0
    }
    score = np.zeros(ctx.n_items)
    for part in parts.values():
        score += part
    score[~mask] = 0.0
    n_explore = round(recipe.limit * recipe.exploration_share)
    n_main = recipe.limit - n_explore
    ranked = top_k(np.where(score > 0, score, -np.inf), max(n_main * recipe.diversity.pool_factor, n_main))
    chosen = _diversify(ranked, score, n_main, recipe, ctx)
    result = [Recommendation(i, float(score[i]), tuple(_explain(i, parts, sources))) for i in chosen]
    taken = np.zeros(ctx.n_items, dtype=bool)
    taken[chosen] = True

    # fallbacks: trending in the visitor's categories, then everywhere; scores stay below the blend
    for fallback in recipe.fallbacks:
        if len(result) >= n_main or ctx.trending is None:
            break
        trend = normalise(ctx.trending) * 1e-3
        fb_mask = mask & ~taken
        evidence: tuple[int, ...] = ()
        if fallback == FALLBACK_CATEGORY:
            if ctx.item_category is None or not ctx.touched_categories:
                continue
            fb_mask &= np.isin(ctx.item_category, np.asarray(ctx.touched_categories))
            evidence = tuple(int(c) for c in ctx.touched_categories)
        for item in top_k(np.where(fb_mask & (trend > 0), trend, -np.inf), n_main - len(result)).tolist():
            cat_ev = evidence if fallback == FALLBACK_GLOBAL else (int(ctx.item_category[item]),)  # type: ignore[index]
            result.append(
                Recommendation(item, float(trend[item]), (Explanation(fallback, cat_ev, fallback),))
            )
            taken[item] = True

    if n_explore:
        new = np.asarray(ctx.new_items, dtype=np.int64)
        new = new[(new >= 0) & (new < ctx.n_items)]
        new = new[mask[new] & ~taken[new]]
        rng = np.random.default_rng(ctx.seed)
        picks = rng.permutation(new)[:n_explore] if len(new) else new
        for slot, item in enumerate(picks.tolist()):
            pos = min(len(result), (slot + 1) * max(recipe.limit // (n_explore + 1), 1))
            result.insert(pos, Recommendation(item, 0.0, (Explanation("exploration", (), "new_item"),)))
    return result[: recipe.limit]
