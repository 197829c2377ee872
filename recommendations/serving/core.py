"""``recommend()``: one slot for one visitor, from the active models and the live state.

Per call: the live state (one store read), the cached active bundle, O(anchors x K) source
scoring, the engine's blend (filters, fallbacks, exploration, diversity), then an availability
check of the shown items through the cached ``product_info``. No model: :mod:`.cold`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recommendations.catalogue.products import product_info
from recommendations.conf import app_settings
from recommendations.engine.hybrid import SlotContext, SlotRecipe, SourceScores, blend
from recommendations.engine.reshow import ABSOLUTE
from recommendations.serving import bundle as bundles
from recommendations.serving import chosen as chosen_blends
from recommendations.serving import cold, deep_source, seen, slots, sources
from recommendations.serving.bundle import Bundle
from recommendations.serving.explain import to_recommendation
from recommendations.serving.types import Recommendation, Subject
from recommendations.serving.visitor import Facts, gather

logger = logging.getLogger(__name__)
MAX_AVAILABILITY_ROUNDS = 3


def _ids(context: dict, key: str) -> list[str]:
    value = context.get(key)
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list | tuple | set) else [value])]


def _indices(bundle: Bundle, ids: list[str] | set[str]) -> np.ndarray:
    found = [bundle.index[i] for i in ids if i in bundle.index]
    return np.asarray(found, dtype=np.int64)


def _anchors(slot: str, bundle: Bundle, facts: Facts, context: dict) -> sources.Anchors:
    if slot in slots.ANCHOR_KIND:
        ids = _ids(context, "product") or _ids(context, "cart")
        if not ids and slot != "similar":
            ids = sorted(facts.in_cart)
        items = _indices(bundle, ids)
        if items.size:
            return sources.Anchors(items, np.ones(items.size), slots.ANCHOR_KIND[slot])
    return sources.Anchors(facts.history, facts.weights, "viewed")


def _sources(
    recipe: SlotRecipe, bundle: Bundle, facts: Facts, anchors: sources.Anchors, query: str
) -> tuple[dict[str, SourceScores], dict[str, dict[int, str]]]:
    """Every weighted source's scores, and per source and item the reason texts of the sources
    that write their own ("You buy this about every 30 days")."""
    out: dict[str, SourceScores] = {}
    texts: dict[str, dict[int, str]] = {}
    for name, weight in recipe.sources:
        if weight <= 0:
            continue
        if name in bundle.neighbours:
            kind = "bought_with" if name == "bought_together" else anchors.kind
            scores = sources.neighbour_scores(bundle.neighbours[name], anchors, kind)
        elif name == "als":
            scores = sources.als_scores(bundle, anchors)
        elif name == "session":
            extra = anchors.items if anchors.kind != "viewed" else np.empty(0, np.int64)
            scores = sources.session_scores(bundle, facts, extra)
        elif name == "trending":
            scores = sources.trending_scores(bundle)
        elif name == "recently_viewed":
            scores = sources.recently_viewed_scores(bundle, facts)
        elif name == "search":
            scores = sources.search_scores(bundle, query)
        elif name == "deep":
            scores = deep_source.deep_scores(bundle, facts)
        elif name.startswith("auto."):
            scores = sources.chosen_scores(bundle, name, facts, anchors)
        elif name in SEEN_SOURCES:
            found = SEEN_SOURCES[name](bundle, facts, time.time())
            scores, texts[name] = found.scores, found.texts
        else:
            scores = None
        if scores is not None:
            out[name] = scores
    return out, texts


# Sources of items the shopper already touched (see :mod:`.seen`).
SEEN_SOURCES = {"buy_again": seen.buy_again, "browsed": seen.browsed_not_bought}


def _chosen_recipe(recipe: SlotRecipe, bundle: Bundle, slot: str, facts: Facts) -> SlotRecipe:
    """``recipe`` with the sources the self-evaluation chose for the slot's context, when it chose
    (and the shop did not set the slot's sources itself), and the seen sources it chose to add:
    then the shopper's purchases are left to them (``buy_again`` never scores a durable)."""
    if bundle.chosen is None or slots.sources_customised(slot):
        return recipe
    weights = bundle.chosen.weights.get(chosen_blends.context_for(slot, facts.known) or "")
    if not weights:
        return recipe
    kept = tuple((n, w) for n, w in recipe.sources if n in chosen_blends.KEPT_SOURCES)
    reshow = _reshow(bundle, slot, facts)
    recipe = dataclasses.replace(recipe, sources=(*weights.items(), *kept, *reshow.items()))
    return dataclasses.replace(recipe, exclude_purchased=False) if reshow else recipe


def _reshow(bundle: Bundle | None, slot: str, facts: Facts) -> dict[str, float]:
    """The seen sources the holdout chose for the slot's context, their weights scaled by how
    often this shopper comes back (:func:`.seen.comeback_factor`; none: never re-show)."""
    if bundle is None or bundle.chosen is None or slots.sources_customised(slot):
        return {}
    context = chosen_blends.context_for(slot, facts.known) or ""
    if context not in bundle.chosen.weights:
        return {}
    weights = bundle.chosen.reshow.get(context, {})
    comebacks = bundle.chosen.comebacks.get(context)
    if not weights or comebacks is None:
        return weights
    factor = seen.comeback_factor(bundle, facts, comebacks)
    return {n: w * factor for n, w in weights.items()} if factor > 0 else {}


def _seen(bundle: Bundle, facts: Facts) -> np.ndarray:
    """Every item the visitor touched: trained history, shopper rows, live events, purchases."""
    parts = [facts.sequence, facts.history, facts.purchased_idx, _indices(bundle, facts.purchased)]
    if facts.row is not None:
        lo, hi = bundle.history.indptr[facts.row], bundle.history.indptr[facts.row + 1]
        parts.append(bundle.history.indices[lo:hi])
        if bundle.shoppers is not None:
            parts.append(bundle.shoppers.bought.items[bundle.shoppers.bought.row(facts.row)])
            parts.append(bundle.shoppers.browsed.items[bundle.shoppers.browsed.row(facts.row)])
    return np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]))


def _only_seen_sources_place_seen_items(
    scored: dict[str, SourceScores], bundle: Bundle, facts: Facts
) -> tuple[dict[str, SourceScores], np.ndarray]:
    """The other sources say nothing about items the visitor touched (as the holdout scored it:
    :func:`recommendations.engine.reshow.merge`), so similar-to-history never re-shows history;
    and the touched items no seen source vouches for (a durable bought) are excluded, from the
    fallbacks too."""
    seen = _seen(bundle, facts)
    vouched = np.zeros(bundle.n_items, dtype=bool)
    for name in SEEN_SOURCES:
        if name in scored:
            vouched |= np.asarray(scored[name].scores) > 0
    out = {}
    for name, source in scored.items():
        if name in SEEN_SOURCES or not seen.size:
            out[name] = source
            continue
        scores = np.array(source.scores, dtype=np.float64, copy=True)
        scores[seen[seen < scores.size]] = 0.0
        out[name] = dataclasses.replace(source, scores=scores)
    return out, seen[(seen < bundle.n_items) & ~vouched[np.minimum(seen, bundle.n_items - 1)]]


def _touched(bundle: Bundle, facts: Facts) -> tuple[int, ...]:
    """Leaf categories of the visitor's recent items, most recent first."""
    leaves = bundle.category[facts.sequence[::-1][:20]].tolist() if facts.sequence.size else []
    return tuple(dict.fromkeys(int(c) for c in leaves if c >= 0))


def _warm(
    bundle: Bundle, slot: str, facts: Facts, context: dict, limit: int, banned: set[str]
) -> list[Recommendation]:
    recipe = _chosen_recipe(slots.get(slot), bundle, slot, facts)
    query = str(
        context.get("query") or (facts.state.recent_searches[0][0] if facts.state.recent_searches else "")
    )
    changes: dict = {"limit": limit}
    category = context.get("category")
    if category is not None:
        code = bundle.category_code.get(str(category))
        leaves = bundle.descendants.get(code, np.empty(0)) if code is not None else np.empty(0)
        changes["categories"] = tuple(int(c) for c in leaves) or (-2,)
    if context.get("min_price") is not None:
        changes["min_price"] = float(context["min_price"])
    if context.get("max_price") is not None:
        changes["max_price"] = float(context["max_price"])
    recipe = dataclasses.replace(recipe, **changes)
    anchors = _anchors(slot, bundle, facts, context)
    scored, texts = _sources(recipe, bundle, facts, anchors, query)
    seed = zlib.crc32(f"{slot}|{facts.recent_ids[:1]}|{context.get('product')}".encode())
    exclude = _indices(bundle, banned)
    if _reshow(bundle, slot, facts):
        scored, unvouched = _only_seen_sources_place_seen_items(scored, bundle, facts)
        exclude = np.r_[exclude, unvouched]
        # probabilities (buy_again) blend as they are, as the holdout scored them: the blend
        # max-normalises every source, so the weight carries the source's best score
        recipe = dataclasses.replace(
            recipe,
            sources=tuple(
                (n, w * float(np.max(scored[n].scores))) if n in ABSOLUTE and n in scored else (n, w)
                for n, w in recipe.sources
            ),
        )
    if slot in slots.ANCHOR_KIND:
        exclude = np.r_[exclude, anchors.items] if anchors.kind != "viewed" else exclude
    unavailable = bundle.unavailable
    gone: list[int] = []
    for _ in range(MAX_AVAILABILITY_ROUNDS):
        ctx = SlotContext(
            n_items=bundle.n_items,
            purchased=np.r_[facts.purchased_idx, _indices(bundle, facts.purchased)],
            in_cart=_indices(bundle, facts.in_cart | set(_ids(context, "cart"))),
            unavailable=unavailable,
            exclude=exclude,
            item_category=bundle.category,
            item_price=bundle.price,
            touched_categories=_touched(bundle, facts),
            trending=bundle.trending if bundle.trending.any() else None,
            new_items=bundle.new_items,
            similarity=bundle.neighbours.get("itemknn"),
            seed=seed,
        )
        chosen = blend(recipe, scored, ctx)
        infos = product_info([bundle.ids[r.item] for r in chosen])
        gone = [r.item for r in chosen if not (infos.get(bundle.ids[r.item]) or _NOT).available]
        if not gone:
            break
        unavailable = np.r_[unavailable, np.asarray(gone, dtype=np.int64)]
    gone_set = set(gone)
    return [
        to_recommendation(
            bundle,
            r.item,
            r.score,
            r.explanations[0] if r.explanations else None,
            query,
            texts.get(r.explanations[0].source, {}).get(r.item) if r.explanations else None,
        )
        for r in chosen
        if r.item not in gone_set
    ]


class _Unknown:
    available = False


_NOT = _Unknown()


@dataclass(frozen=True)
class SlotRequest:
    """One slot of a page: a recipe name, its context and how many items."""

    slot: str
    context: dict = field(default_factory=dict)
    limit: int | None = None


def recommend(
    visitor: Subject | None, slot: str, context: dict | None = None, limit: int | None = None
) -> list[Recommendation]:
    """Up to ``limit`` explained recommendations for ``slot`` (see ``DEFAULT_SLOTS``).

    Context keys: ``product``, ``cart``, ``category``, ``query``, ``exclude``, ``min_price``,
    ``max_price``. A recipe's ``exclude_recent: N`` leaves out the visitor's N most recent distinct
    products (``for_you``: 10). Raises ``ValueError`` for an unknown slot; otherwise never raises
    for a normal visitor (errors are logged and the cold path answers).
    """
    return recommend_slots(visitor, [SlotRequest(slot, dict(context or {}), limit)])[0]


def recommend_slots(
    visitor: Subject | None, requests: Sequence[SlotRequest], *, dedup: bool = True
) -> list[list[Recommendation]]:
    """Every slot of a page in one pass: one model lookup and one live-state read for all of them,
    each slot then as :func:`recommend` computes it alone, except that (``dedup``) a product an
    earlier slot shows is excluded from the later ones (slots whose recipe sets ``page_dedup: 0``,
    such as ``recently_viewed``, stay out of that). Raises ``ValueError`` for an unknown slot."""
    recipes = [slots.get(r.slot) for r in requests]  # unknown slots fail before any work
    try:
        model = bundles.current()
        facts = gather(visitor, model)
    except Exception:
        if app_settings.SERVING_RAISE_ERRORS:
            raise
        logger.exception("recommend_slots failed to read the model or live state")
        model, facts = None, None
    shown: list[str] = []
    out: list[list[Recommendation]] = []
    for request, recipe in zip(requests, recipes, strict=True):
        context = dict(request.context or {})
        joins = dedup and bool(slots.option(request.slot, "page_dedup"))
        if joins and shown:
            context["exclude"] = [*_ids(context, "exclude"), *shown]
        recs = _one(visitor, model, facts, request.slot, recipe, context, request.limit)
        if joins:
            shown.extend(rec.product_id for rec in recs)
        out.append(recs)
    return out


def _one(
    visitor: Subject | None,
    model: Bundle | None,
    facts: Facts | None,
    slot: str,
    recipe,
    context: dict,
    limit: int | None,
) -> list[Recommendation]:
    limit = recipe.limit if limit is None else max(int(limit), 0)
    if limit == 0:
        return []
    banned = set(_ids(context, "exclude"))
    try:
        if facts is None:
            raise RuntimeError("no live state")  # the model or live-state read failed: cold path
        # where the holdout chose to re-show what the shopper touched, the seen sources place it
        reshows = bool(_reshow(model, slot, facts))
        if recipe.exclude_purchased and not reshows:
            banned |= facts.purchased
        if recipe.exclude_in_cart:
            banned |= facts.in_cart | set(_ids(context, "cart"))
        if slot in slots.ANCHOR_KIND:
            banned |= set(_ids(context, "product"))
        recent = 0 if reshows else slots.option(slot, "exclude_recent")
        if recent:  # e.g. the home page shows new things; recently viewed has its own slot
            banned |= set(facts.recent_ids[:recent])
        if model is not None:
            return _warm(model, slot, facts, context, limit, banned)
        return cold.recommend(slot, facts, context, limit, banned)
    except Exception:
        if app_settings.SERVING_RAISE_ERRORS:
            raise
        logger.exception("recommend(%s) failed; answering from the cold path", slot)
        try:
            return cold.recommend(slot, gather(visitor, None), context, limit, banned)
        except Exception:
            logger.exception("cold recommendations failed too")
            return []
