"""The session source must not recommend the product it explains itself with."""

from __future__ import annotations

import uuid

from recommendations.serving import recommend
from recommendations.subjects import Subject
from recommendations.tracking.bulk import import_events
from recommendations.training import pipeline as training


def test_for_you_never_recommends_the_just_viewed_product_because_of_itself(shop):
    shop.history()
    training.rebuild()
    for group in (shop.a, shop.b):
        for last in group[:4]:
            visitor = uuid.uuid4()
            import_events([shop.event("view", group[5], visitor), shop.event("view", last, visitor)])
            recs = recommend(Subject(None, visitor), "for_you", limit=16)
            assert recs
            for rec in recs:
                assert not (rec.reason_code == "session" and rec.product_id in rec.evidence), rec
