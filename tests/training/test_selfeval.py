"""Self-evaluation at rebuild: the stored choice per context, and serving following it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from recommendations.models import ModelQuality, ModelVersion
from recommendations.schema import EventIn
from recommendations.serving import bundle as bundles
from recommendations.serving import chosen, cold, recommend
from recommendations.subjects import Subject
from recommendations.tracking.bulk import import_events
from recommendations.training import pipeline as training

N_ITEMS = 40


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.RECOMMENDATIONS_SERVING_RAISE_ERRORS = True
    settings.RECOMMENDATIONS_SELF_EVALUATION_MIN_QUERIES = 50
    settings.RECOMMENDATIONS_SELF_EVALUATION_MAX_QUERIES = 100
    settings.RECOMMENDATIONS_SELF_EVALUATION_BUDGET_SECONDS = (
        0.0  # defaults only: the same choice on any machine
    )
    bundles.clear()
    cold.clear()
    yield
    bundles.clear()
    cold.clear()


def chain_items():
    from tests.testapp.models import Category, Item

    cat = Category.objects.create(name="Chain")
    return [
        Item.objects.create(name=f"Link {n}", blurb="link", category=cat, price=Decimal(10 + n))
        for n in range(N_ITEMS)
    ]


def chain_events(items, n_sessions=600, length=6, seed=0):
    """Every anonymous session walks i, i+1, i+2, ... from a random start: only the last click
    tells what comes next (a sequence model wins the next click by far)."""
    rng = np.random.default_rng(seed)
    start = timezone.now() - timedelta(days=10)
    events, clock = [], 0
    for _ in range(n_sessions):
        visitor, first = uuid.uuid4(), int(rng.integers(0, N_ITEMS))
        for step in range(length):
            clock += 1
            item = items[(first + step) % N_ITEMS]
            when = start + timedelta(seconds=60 * clock)
            events.append(EventIn(kind="view", product_id=str(item.pk), visitor_id=visitor, created_at=when))
    return events


def active_version() -> ModelVersion:
    from recommendations.models import ActiveModel

    return ActiveModel.objects.get(kind="main").version


@pytest.mark.django_db
def test_a_rebuild_stores_the_winning_blend_and_serving_follows_it():
    items = chain_items()
    import_events(chain_events(items))
    training.rebuild()
    version = active_version()
    selection = version.metrics["selection"]
    session = selection["contexts"]["session"]
    assert not session["default_kept"], session["reason"]
    assert {"sequential_rules", "stan"} & set(session["weights"]), session["reason"]
    rules = session["metrics"]["sequential_rules"]["next_click"]
    assert rules > 3 * session["metrics"]["popularity"]["next_click"]
    # no carts at all: the default is kept, and said
    cart = selection["contexts"]["cart"]
    assert cart["default_kept"]
    assert "too little data" in cart["reason"]
    similar = selection["contexts"]["similar"]
    assert not similar["default_kept"], similar["reason"]
    rows = {row.context: row for row in ModelQuality.objects.filter(version=version)}
    assert set(rows) == {"user", "session", "similar", "cart"}
    assert rows["session"].weights == session["weights"]
    assert rows["session"].ndcg == pytest.approx(session["metrics"]["chosen"]["objective"])
    assert rows["session"].ndcg > rows["session"].popularity_ndcg
    assert rows["cart"].default_kept and not rows["session"].default_kept

    # a new visitor walks 5, 6, 7: the chosen session blend answers, and it says 8
    visitor = uuid.uuid4()
    now = timezone.now()
    import_events(
        [
            EventIn(kind="view", product_id=str(items[n].pk), visitor_id=visitor, created_at=now)
            for n in (5, 6, 7)
        ]
    )
    recs = recommend(Subject(None, visitor), "for_you", limit=3)
    assert recs[0].product_id == str(items[8].pk)
    assert {r.source for r in recs} <= {f"auto.session.{m}" for m in session["weights"]}
    # the product page follows the "similar" choice; the cart keeps the built-in recipe
    page = recommend(None, "similar", {"product": str(items[3].pk)}, limit=3)
    assert page and {r.source for r in page} <= {f"auto.similar.{m}" for m in similar["weights"]}
    in_cart = recommend(None, "cart", {"cart": [str(items[3].pk)]}, limit=3)
    assert in_cart and not any(r.source.startswith("auto.") for r in in_cart)


@pytest.mark.django_db
def test_a_small_shop_keeps_the_default_recipes_and_says_so(settings):
    items = chain_items()
    import_events(chain_events(items, n_sessions=20))
    visitor = uuid.uuid4()
    import_events([EventIn(kind="view", product_id=str(items[2].pk), visitor_id=visitor)])
    training.rebuild()
    version = active_version()
    contexts = version.metrics["selection"]["contexts"]
    assert all(c["default_kept"] for c in contexts.values())
    assert all("too little data" in c["reason"] for c in contexts.values())
    assert ModelQuality.objects.filter(version=version, default_kept=True).count() == 4
    assert bundles.current().chosen is None
    served = [
        recommend(Subject(None, visitor), s, {"product": str(items[4].pk)}) for s in ("for_you", "similar")
    ]

    # exactly what the built-in recipes serve without self-evaluation
    settings.RECOMMENDATIONS_SELF_EVALUATION = False
    training.rebuild()
    bundles.clear()
    assert "selection" not in active_version().metrics
    plain = [
        recommend(Subject(None, visitor), s, {"product": str(items[4].pk)}) for s in ("for_you", "similar")
    ]
    assert [[r.product_id for r in recs] for recs in served] == [
        [r.product_id for r in recs] for recs in plain
    ]


@pytest.mark.django_db
def test_the_choice_is_read_once_per_model_version(monkeypatch):
    items = chain_items()
    import_events(chain_events(items))
    training.rebuild()
    calls = []
    real = chosen.load
    monkeypatch.setattr(chosen, "load", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    for n in range(5):
        recommend(Subject(None, uuid.uuid4()), "for_you", {"product": str(items[n].pk)})
    assert len(calls) == 1


def test_the_rebuild_serves_the_validation_fits_when_validation_held_out_little(monkeypatch):
    import scipy.sparse as sp

    from recommendations.engine.candidates import Candidate
    from recommendations.engine.itemknn import ItemKNN
    from recommendations.training import selfeval

    matrix = sp.csr_matrix(np.eye(6, 5, dtype=np.float32) + np.eye(6, 5, k=1, dtype=np.float32))
    params = {"k": 3}
    name = selfeval.part_name("itemknn", params)
    kept = ItemKNN(k=3).fit(matrix[:5])  # as fitted on the validation training log
    choice = {"weights": {"itemknn": 1.0}, "params": {"itemknn": params}, "default_kept": False}
    fits = []
    real_fit = Candidate.fit
    monkeypatch.setattr(Candidate, "fit", lambda self, *a: fits.append(self.name) or real_fit(self, *a))

    small = {"held_out_share": 0.05, "contexts": {"user": dict(choice)}}
    parts = selfeval.chosen_parts(small, matrix, None, {name: kept})
    assert fits == [] and small["reused_fits"] == [name]
    np.testing.assert_array_equal(parts[name]["data"], sp.csr_matrix(kept.similarity).data)

    large = {"held_out_share": 0.3, "contexts": {"user": dict(choice)}}
    selfeval.chosen_parts(large, matrix, type("Data", (), {"log": None})(), {name: kept})
    assert fits == ["itemknn"] and "reused_fits" not in large


@pytest.mark.django_db
def test_the_search_goes_on_from_the_live_versions_choice():
    from recommendations.models import ActiveModel
    from recommendations.training import selfeval

    assert selfeval.previous_params() == {}
    version = ModelVersion.objects.create(
        status=ModelVersion.Status.READY,
        metrics={
            "selection": {
                "contexts": {
                    "user": {"params": {"rp3beta": {"k": 200, "beta": 0.2}, "popularity": {}}},
                    "session": {"params": {"rp3beta": {"k": 50}, "stan": {"lambda_spw": 2.0}}},
                    "cart": {"params": {}},
                }
            }
        },
    )
    ActiveModel.objects.create(kind="main", version=version)
    assert selfeval.previous_params() == {
        "rp3beta": {"k": 200, "beta": 0.2},  # the known user's first
        "popularity": {},
        "stan": {"lambda_spw": 2.0},
    }


@pytest.mark.django_db
def test_the_built_in_als_and_item_knn_are_the_self_evaluations_fits_when_it_held_out_little(
    settings, monkeypatch
):
    from recommendations import modelstore
    from recommendations.conf import app_settings
    from recommendations.engine import backends
    from recommendations.engine.candidates import Candidate
    from recommendations.training import selfeval

    settings.RECOMMENDATIONS_SELF_EVALUATION_MIN_QUERIES = 10
    settings.RECOMMENDATIONS_SELF_EVALUATION_MAX_QUERIES = 10  # a few percent of the sessions
    fits, own = [], []
    real_fit, real_als = Candidate.fit, backends.fit_als

    def record(self, params, matrix, sessions):
        model = real_fit(self, params, matrix, sessions)
        fits.append((self.name, params, model))
        return model

    monkeypatch.setattr(Candidate, "fit", record)
    monkeypatch.setattr(backends, "fit_als", lambda *a: own.append(1) or real_als(*a))
    import_events(chain_events(chain_items()))
    training.rebuild()
    version = active_version()
    assert version.metrics["selection"]["held_out_share"] <= 0.1
    assert version.metrics["als_from"] == "self_evaluation" and not own  # ALS fitted once, not twice
    ials = [(p, m) for name, p, m in fits if name == "ials"]
    assert ials and ials[0][0] == version.metrics["selection"]["baselines"]["ials"]
    stored = modelstore.load_parts(version.pk, ["als"])["als"]
    model = ials[0][1]
    np.testing.assert_array_equal(stored["item_factors"], model.item_factors.astype(np.float32))
    y = model.item_factors.astype(np.float64)
    np.testing.assert_allclose(stored["gram"], y.T @ y + model.regularization * np.eye(y.shape[1]))
    # the item-kNN baseline is the built-in item-kNN: no similarity chunks were built
    assert version.metrics["itemknn_from"] == "self_evaluation"
    knn = next(m for name, p, m in fits if name == "itemknn")
    stored = modelstore.load_parts(version.pk, ["itemknn"])["itemknn"]
    best = selfeval.builtin_itemknn({selfeval.BUILTIN_ITEMKNN: knn}, app_settings.NEIGHBOURS)
    for key in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(stored[key], best[key])

    # a validation that held out much: the built-in ALS is fitted on every event, as before
    settings.RECOMMENDATIONS_SELF_EVALUATION_MAX_QUERIES = 100
    settings.RECOMMENDATIONS_SELF_EVALUATION_MIN_QUERIES = 50
    training.rebuild()
    again = active_version()
    assert again.metrics["selection"]["held_out_share"] > 0.1
    assert again.metrics["als_from"] == "settings" and own == [1]
    assert "itemknn_from" not in again.metrics and again.metrics["itemknn_nnz"] > 0  # chunks


def test_the_item_knn_baseline_gives_the_built_in_neighbours_the_chunks_would(settings):
    import scipy.sparse as sp

    from recommendations.engine.itemknn import ItemKNN
    from recommendations.engine.similarity import assemble_triples, knn_block, prepare
    from recommendations.training import selfeval

    settings.RECOMMENDATIONS_NEIGHBOURS = 5
    rng = np.random.default_rng(3)
    matrix = sp.random(300, 60, density=0.1, format="csr", random_state=4, dtype=np.float32)
    matrix.data = rng.integers(1, 6, matrix.nnz).astype(np.float32)  # confidences, few ties
    fit = ItemKNN(k=100, similarity="cosine", shrink=0.0, normalize=False).fit(matrix)
    ours = selfeval.builtin_itemknn({selfeval.BUILTIN_ITEMKNN: fit}, 5)
    weighted, left, right = prepare(matrix, "cosine", shrink=0.0)
    chunked = assemble_triples([knn_block(weighted, left, right, 0, 60, 5)], 60)
    np.testing.assert_array_equal(ours["indptr"], chunked.indptr)
    np.testing.assert_array_equal(ours["indices"], chunked.indices)
    np.testing.assert_allclose(ours["data"], chunked.data, rtol=1e-5)
    # another weighting than the built-in one: the rebuild computes its own
    settings.RECOMMENDATIONS_ITEMKNN_SHRINK = 10.0
    assert selfeval.builtin_itemknn({selfeval.BUILTIN_ITEMKNN: fit}, 5) is None
    settings.RECOMMENDATIONS_ITEMKNN_SHRINK = 0.0
    assert selfeval.builtin_itemknn({selfeval.BUILTIN_ITEMKNN: fit}, 101) is None


@pytest.mark.django_db
def test_a_shop_over_the_event_cap_is_validated_on_a_sample_and_served_fits_on_every_event(
    settings, monkeypatch
):
    from recommendations import modelstore
    from recommendations.engine import backends
    from recommendations.engine.als import ALS
    from recommendations.engine.candidates import Candidate
    from recommendations.training import selfeval

    fitted_on, refits, own = [], [], []
    real_fit, real_refit, real_als = Candidate.fit, ALS.refit, backends.fit_als

    def fit(self, params, matrix, sessions):
        fitted_on.append((self.name, matrix.nnz))
        return real_fit(self, params, matrix, sessions)

    def refit(self, matrix, item_factors, iterations):
        refits.append((matrix.nnz, item_factors.copy(), iterations))
        return real_refit(self, matrix, item_factors, iterations)

    monkeypatch.setattr(Candidate, "fit", fit)
    monkeypatch.setattr(ALS, "refit", refit)
    monkeypatch.setattr(backends, "fit_als", lambda model, m, *a: own.append(1) or real_als(model, m, *a))
    events = chain_events(chain_items(), n_sessions=1200)
    import_events(events)
    settings.RECOMMENDATIONS_SELF_EVALUATION_MAX_EVENTS = 3_500
    training.rebuild()
    version = active_version()
    selection = version.metrics["selection"]
    assert selection["sample"]["of"] == len(events) and 3_000 < selection["sample"]["events"] <= 3_500
    assert selection["held_out_share"] > 0.5  # of every event: nothing validated is served as it is
    assert not selection.get("reused_fits")
    session = selection["contexts"]["session"]
    assert not session["default_kept"], session["reason"]
    # the validation fitted on the sample; the built-in ALS is its iALS baseline fitted again on
    # every event, from the sample fit's item factors, in a few alternations (no cold fit)
    validation_ials = [nnz for name, nnz in fitted_on if name == "ials"]
    assert len(validation_ials) == 1 and len(refits) == 1 and not own
    nnz, start, iterations = refits[0]
    assert nnz > 2 * validation_ials[0] and iterations == selfeval.WARM_ITERATIONS
    assert version.metrics["als_from"] == "self_evaluation"
    stored = modelstore.load_parts(version.pk, ["als"])["als"]["item_factors"]
    assert stored.shape == start.shape and not np.allclose(stored, start)
