"""The pure blender: normalisation, filters, explanations, fallbacks, exploration, diversity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.hybrid import (
    Diversity,
    SlotContext,
    SlotRecipe,
    SourceScores,
    blend,
    blend_scores,
    evidence_from_similarity,
    normalise,
)

N = 20


def _sources(seed: int = 0) -> dict[str, SourceScores]:
    rng = np.random.default_rng(seed)
    return {
        "session": SourceScores(rng.random(N), kind="viewed", default_evidence=(3,)),
        "cf": SourceScores(rng.random(N) * 100, kind="bought_with", evidence={5: (7,)}),
    }


def test_normalise_max_and_rank() -> None:
    scores = np.array([0.0, 4.0, 2.0, -1.0, np.nan])
    np.testing.assert_allclose(normalise(scores, "max"), [0.0, 1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(normalise(scores, "rank"), [0.0, 1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(normalise(np.array([1.0, 3.0, 2.0]), "rank"), [1 / 3, 1.0, 0.5])


def test_blend_scores_makes_scales_comparable() -> None:
    out = blend_scores({"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1000.0])}, {"a": 2.0, "b": 1.0})
    np.testing.assert_allclose(out, [2.0, 1.0])
    with pytest.raises(ValueError):
        blend_scores({"a": np.ones(2)}, {"z": 1.0})


@pytest.mark.parametrize("seed", range(5))
def test_filters_never_return_excluded_items(seed: int) -> None:
    rng = np.random.default_rng(seed)
    category = rng.integers(0, 3, N)
    price = rng.random(N) * 100
    ctx = SlotContext(
        n_items=N,
        purchased=np.array([0, 1]),
        in_cart=np.array([2]),
        unavailable=np.array([3]),
        exclude=np.array([4]),
        item_category=category,
        item_price=price,
        trending=rng.random(N),
        touched_categories=(0,),
    )
    recipe = SlotRecipe("s", (("session", 1.0), ("cf", 0.5)), limit=N, categories=(0, 1), max_price=80.0)
    recs = blend(recipe, _sources(seed), ctx)
    items = [r.item for r in recs]
    assert not {0, 1, 2, 3, 4} & set(items)
    assert all(category[i] in (0, 1) and price[i] <= 80.0 for i in items)
    assert len(items) == len(set(items))
    assert all(r.explanations for r in recs)


def test_explanations_carry_source_kind_and_evidence() -> None:
    recs = blend(
        SlotRecipe("s", (("session", 1.0), ("cf", 1.0)), limit=N), _sources(), SlotContext(n_items=N)
    )
    by_item = {r.item: r for r in recs}
    assert {e.source for e in by_item[5].explanations} == {"session", "cf"}
    cf = next(e for e in by_item[5].explanations if e.source == "cf")
    assert (cf.kind, cf.evidence) == ("bought_with", (7,))
    session = next(e for e in by_item[6].explanations if e.source == "session")
    assert (session.kind, session.evidence) == ("viewed", (3,))
    # the strongest contribution is listed first
    scores = [r.score for r in recs]
    assert scores == sorted(scores, reverse=True)


def test_fallback_chain_category_trending_then_global() -> None:
    category = np.array([0] * 10 + [1] * 10)
    trending = np.arange(N, dtype=float)  # item 19 is the most trending
    only_one = np.zeros(N)
    only_one[12] = 1.0
    ctx = SlotContext(n_items=N, item_category=category, touched_categories=(0,), trending=trending)
    recipe = SlotRecipe("s", (("session", 1.0),), limit=5)
    recs = blend(recipe, {"session": SourceScores(only_one, kind="viewed")}, ctx)
    assert [r.item for r in recs] == [12, 9, 8, 7, 6]
    assert [r.explanations[0].kind for r in recs[1:]] == ["trending_in_category"] * 4
    assert recs[1].explanations[0].evidence == (0,)
    # without touched categories, global trending fills in
    recs = blend(
        recipe, {"session": SourceScores(only_one, kind="viewed")}, SlotContext(n_items=N, trending=trending)
    )
    assert [r.item for r in recs] == [12, 19, 18, 17, 16]
    assert recs[1].explanations[0].source == "trending"


def test_exploration_share_reserves_slots_for_new_items_deterministically() -> None:
    new = np.array([15, 16, 17, 18])
    ctx = SlotContext(n_items=N, new_items=new, exclude=np.array([18]), seed=3)
    recipe = SlotRecipe("s", (("session", 1.0),), limit=10, exploration_share=0.2)
    first = blend(recipe, _sources(), ctx)
    second = blend(recipe, _sources(), ctx)
    assert [r.item for r in first] == [r.item for r in second]
    explored = [r for r in first if r.explanations[0].source == "exploration"]
    assert len(explored) == 2
    assert {r.item for r in explored} <= {15, 16, 17}
    assert len(first) == 10


def test_category_cap_diversity() -> None:
    category = np.array([0] * 10 + [1] * 10)
    scores = np.r_[np.linspace(2, 1.5, 10), np.linspace(1, 0.5, 10)]  # category 0 dominates
    recipe = SlotRecipe("s", (("a", 1.0),), limit=6, diversity=Diversity("category_cap", max_per_category=3))
    recs = blend(
        recipe, {"a": SourceScores(scores, kind="viewed")}, SlotContext(n_items=N, item_category=category)
    )
    cats = category[[r.item for r in recs]]
    assert (cats == 0).sum() == 3
    assert (cats == 1).sum() == 3


def test_mmr_skips_near_duplicates() -> None:
    scores = np.zeros(N)
    scores[[0, 1, 2]] = [1.0, 0.99, 0.5]
    sim = sp.lil_matrix((N, N))
    sim[0, 1] = sim[1, 0] = 1.0  # items 0 and 1 are near-identical
    ctx = SlotContext(n_items=N, similarity=sim.tocsr())
    recipe = SlotRecipe("s", (("a", 1.0),), limit=2, fallbacks=(), diversity=Diversity("mmr", mmr_lambda=0.5))
    recs = blend(recipe, {"a": SourceScores(scores, kind="viewed")}, ctx)
    assert [r.item for r in recs] == [0, 2]
    plain = blend(
        SlotRecipe("s", (("a", 1.0),), limit=2, fallbacks=()), {"a": SourceScores(scores, kind="v")}, ctx
    )
    assert [r.item for r in plain] == [0, 1]


def test_evidence_from_similarity_picks_the_strongest_history_item() -> None:
    sim = sp.csr_matrix(np.array([[0, 0.2, 0.9], [0, 0, 0.1], [0, 0, 0]], dtype=float))
    assert evidence_from_similarity(sim, np.array([0, 1]), np.array([1, 2])) == {1: (0,), 2: (0,)}


def test_recipe_validation() -> None:
    with pytest.raises(ValueError):
        SlotRecipe("s", (), exploration_share=1.5)
    with pytest.raises(ValueError):
        SlotRecipe("s", (), fallbacks=("nope",))
    with pytest.raises(ValueError):
        blend(
            SlotRecipe("s", (("a", 1.0),), categories=(1,)),
            {"a": SourceScores(np.ones(N), "v")},
            SlotContext(N),
        )
