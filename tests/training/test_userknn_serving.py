"""User-kNN end to end: where shoppers' neighbourhoods are the structure, the rebuild's holdout
chooses it for known users, stores its hyper-parameters, and "for you" scores the shopper's
history row against the trained users' rows."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.userknn import UserKNN
from recommendations.live.base import VisitorState
from recommendations.models import ActiveModel
from recommendations.serving import recommend
from recommendations.serving.chosen import Chosen, userknn_scores
from recommendations.serving.sources import Anchors, chosen_scores
from recommendations.serving.visitor import Facts
from recommendations.subjects import Subject
from recommendations.training import pipeline as training
from tests.engine.test_userknn_choice import community_shop
from tests.training.test_reshow_serving import Shop, _fresh  # noqa: F401 (autouse fixture)

MEMBERS = 25  # community_shop's users per community: users u // MEMBERS share a taste


@pytest.mark.django_db
def test_where_user_neighbourhoods_are_the_structure_for_you_serves_userknn():
    shop = Shop(community_shop(members=MEMBERS))
    training.rebuild()
    version = ActiveModel.objects.get(kind="main").version
    user = version.metrics["selection"]["contexts"]["user"]
    assert not user["default_kept"], user["reason"]
    assert next(iter(user["weights"])) == "userknn", (
        user["reason"],
        {m: v.get("objective") for m, v in user["metrics"].items()},
        user["n_queries"],
    )
    assert user["metrics"]["userknn"]["objective"] > user["metrics"]["itemknn"]["objective"]
    assert user["parts"]["userknn"].startswith("choice.userknn.")
    log = shop.log
    in_taste, shown = 0, 0
    for u in range(0, 40 * MEMBERS, 97):
        community = np.flatnonzero(log.users // MEMBERS == u // MEMBERS)
        liked = {str(shop.items[i].pk) for i in np.unique(log.items[community]).tolist()}
        recs = recommend(Subject(str(shop.users[u].pk), None), "for_you", limit=5)
        assert recs
        assert {r.source for r in recs} & {"auto.user.userknn"}, [r.source for r in recs]
        assert not {r.product_id for r in recs} & shop.touched(u)  # never their own history
        in_taste += sum(r.product_id in liked for r in recs)
        shown += len(recs)
    # 12 of the 62 items a shopper did not touch are their community's: chance would be ~20 %
    assert in_taste >= 0.75 * shown


def _matrix(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    dense = np.zeros((len(rows), n_items), dtype=np.float32)
    for r, items in enumerate(rows):
        dense[r, items] = 1.0
    return sp.csr_matrix(dense)


def test_userknn_scores_the_anchors_against_the_other_users_not_the_shopper_themselves():
    # shopper 0 touched 0, 1, 2; user 1 shares them and also took 3; user 2 lives elsewhere
    model = UserKNN(k=1).fit(_matrix([[0, 1, 2], [0, 1, 2, 3], [4, 5]], 6))
    items, weights = np.array([0, 1, 2]), np.ones(3)
    scored = userknn_scores(model, items, weights, "viewed", row=0)
    assert scored is not None
    assert int(np.argmax(scored.scores)) == 3
    assert not scored.scores[items].any() and not scored.scores[[4, 5]].any()
    assert scored.kind == "viewed"
    # as its own nearest neighbour the shopper would only vouch for their own history: nothing
    assert userknn_scores(model, items, weights, "viewed", row=None) is None
    # a new visitor (no row) with a click: the users sharing it answer
    new = userknn_scores(model, np.array([4]), np.ones(1), "viewed")
    assert new is not None and int(np.argmax(new.scores)) == 5
    assert userknn_scores(model, np.empty(0, np.int64), np.empty(0), "viewed") is None


def test_a_chosen_userknn_source_is_scored_with_the_shoppers_row():
    model = UserKNN(k=1).fit(_matrix([[0, 1, 2], [0, 1, 2, 3], [4, 5]], 6))
    chosen = Chosen(
        weights={"user": {"auto.user.userknn": 1.0}}, models={"auto.user.userknn": ("userknn", model)}
    )
    bundle = SimpleNamespace(chosen=chosen)
    facts = Facts(state=VisitorState(), recent_ids=[], known=True, row=0)
    scored = chosen_scores(
        bundle, "auto.user.userknn", facts, Anchors(np.array([0, 1, 2]), np.ones(3), "viewed")
    )
    assert scored is not None and int(np.argmax(scored.scores)) == 3


def test_the_rebuild_stores_userknn_as_its_hyper_parameters_only(monkeypatch):
    from recommendations.engine.candidates import Candidate
    from recommendations.training import selfeval

    matrix = _matrix([[0, 1, 2], [0, 1, 2, 3], [4, 5]], 6)
    params = {"k": 200, "shrink": 10.0}
    name = selfeval.part_name("userknn", params)
    choice = {"weights": {"userknn": 1.0}, "params": {"userknn": params}, "default_kept": False}
    fits = []
    monkeypatch.setattr(Candidate, "fit", lambda self, *a: fits.append(self.name))
    selection = {"held_out_share": 0.05, "contexts": {"user": choice}}
    parts = selfeval.chosen_parts(selection, matrix, None, {name: UserKNN(k=200, shrink=10.0).fit(matrix)})
    assert fits == [] and selection["reused_fits"] == []  # nothing fitted, nothing big stored
    assert choice["parts"] == {"userknn": name}
    assert {k: float(v) for k, v in parts[name].items()} == {"k": 200.0, "shrink": 10.0}
