"""Re-showing what a shopper touched, end to end: the rebuild's holdout chooses it (or not), the
choice is stored with the model version, and "for you" follows the stored choice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from recommendations.engine.base import EventLog
from recommendations.models import ActiveModel
from recommendations.schema import EventIn
from recommendations.serving import bundle as bundles
from recommendations.serving import cold, recommend
from recommendations.subjects import Subject
from recommendations.tracking.bulk import import_events
from recommendations.training import pipeline as training
from tests.engine.test_reshow_choice import fresh_shop, repeat_shop


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.RECOMMENDATIONS_SERVING_RAISE_ERRORS = True
    settings.RECOMMENDATIONS_SELF_EVALUATION_MIN_QUERIES = 50
    settings.RECOMMENDATIONS_SELF_EVALUATION_MAX_QUERIES = 100
    settings.RECOMMENDATIONS_SELF_EVALUATION_BUDGET_SECONDS = 0.0  # defaults only: one choice anywhere
    bundles.clear()
    cold.clear()
    yield
    bundles.clear()
    cold.clear()


class Shop:
    """An engine test log (items, users, kinds, days) as the shop's own products and events."""

    def __init__(self, log: EventLog) -> None:
        from tests.testapp.models import Category, Item

        pantry = Category.objects.create(name="Pantry")
        home = Category.objects.create(name="Home")
        self.items = [
            Item.objects.create(name=f"Product {n}", category=pantry if n < 30 else home, price=Decimal(10))
            for n in range(log.n_items)
        ]
        users = get_user_model().objects
        self.users = [users.create_user(f"shopper{n}", password="x") for n in range(log.n_users)]
        self.log = log
        end = timezone.now() - timedelta(days=1)
        last = float(log.timestamps.max())
        events = []
        for u, i, k, t in zip(
            log.users.tolist(), log.items.tolist(), log.kinds.tolist(), log.timestamps.tolist(), strict=True
        ):
            when = end - timedelta(seconds=last - t)
            kind = log.kind_names[k]
            extra = {}
            if kind == "purchase":
                extra = {"order_id": f"{u}-{t:.0f}", "quantity": 1, "unit_price": Decimal(10)}
            events.append(
                EventIn(
                    kind=kind,
                    product_id=str(self.items[i].pk),
                    user_id=self.users[u].pk,
                    created_at=when,
                    **extra,
                )
            )
        import_events(events)

    def touched(self, u: int) -> set[str]:
        return {str(self.items[i].pk) for i in np.unique(self.log.items[self.log.users == u]).tolist()}

    def bought(self, u: int) -> set[str]:
        mine = (self.log.users == u) & (self.log.kinds == self.log.kind_names.index("purchase"))
        return {str(self.items[i].pk) for i in np.unique(self.log.items[mine]).tolist()}


def _user_choice() -> dict:
    version = ActiveModel.objects.get(kind="main").version
    return version.metrics["selection"]["contexts"]["user"]


@pytest.mark.django_db
def test_where_shoppers_come_back_the_rebuild_chooses_re_showing_and_for_you_follows():
    shop = Shop(repeat_shop(n_users=300))
    training.rebuild()
    user = _user_choice()
    assert user["reshow"], user["reason"]
    assert user["metrics"]["with_reshow"]["objective"] > user["metrics"]["without_reshow"]["objective"]
    durable = {str(item.pk) for item in shop.items[30:]}
    shown_again, reasons = 0, set()
    for u in range(20):
        recs = recommend(Subject(str(shop.users[u].pk), None), "for_you", limit=10)
        again = [r for r in recs if r.product_id in shop.touched(u)]
        shown_again += len(again)
        reasons |= {r.reason for r in again}
        # a durable the shopper bought (the shop's orders: bought once) never comes back
        assert not {r.product_id for r in again} & shop.bought(u) & durable
        assert len({r.product_id for r in recs}) == len(recs)
    assert shown_again > 0
    assert any(
        text.startswith(("You buy this", "Shoppers buy this", "Still thinking")) for text in reasons if text
    ), reasons


@pytest.mark.django_db
def test_where_nothing_is_touched_twice_for_you_never_re_shows():
    shop = Shop(fresh_shop(n_users=200, n_items=240))
    training.rebuild()
    user = _user_choice()
    assert not user.get("reshow"), user["reason"]
    for u in range(20):
        recs = recommend(Subject(str(shop.users[u].pk), None), "for_you", limit=10)
        assert recs
        assert not {r.product_id for r in recs} & shop.touched(u)


class _Recorder:
    """A sequence model that remembers how much of the history it was queried with."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def score_sequence(self, items, timestamps=None):
        self.lengths.append(len(items))
        return np.ones(100)


def test_a_known_users_chosen_sequence_models_see_the_chosen_window():
    from types import SimpleNamespace

    from recommendations.live.base import VisitorState
    from recommendations.serving.chosen import Chosen
    from recommendations.serving.sources import Anchors, chosen_scores
    from recommendations.serving.visitor import Facts

    model = _Recorder()
    chosen = Chosen(
        weights={"user": {"auto.user.stan": 1.0}, "session": {"auto.session.stan": 1.0}},
        models={"auto.user.stan": ("sequence", model), "auto.session.stan": ("sequence", model)},
        window=4,
    )
    bundle = SimpleNamespace(chosen=chosen)
    facts = Facts(state=VisitorState(), recent_ids=[], sequence=np.arange(30), times=np.arange(30.0))
    anchors = Anchors(np.arange(30), np.ones(30), "viewed")
    chosen_scores(bundle, "auto.user.stan", facts, anchors)
    chosen_scores(bundle, "auto.session.stan", facts, anchors)
    assert model.lengths == [4, 30]
