"""seed_demo: the requested amounts, a plausible history, and safe to run twice."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from recommendations import modelstore as storage
from recommendations.models import Event, ModelVersion
from shop_demo.shop.models import Brand, Category, Order, OrderLine, Product
from shop_demo.shop.seeding import seed_demo

pytestmark = pytest.mark.django_db

SMALL = {"n_products": 120, "n_categories": 8, "n_shoppers": 40, "seed": 3, "train": False}


def snapshot():
    User = get_user_model()
    return {
        "leaves": Category.objects.filter(parent__isnull=False).count(),
        "departments": Category.objects.filter(parent__isnull=True).count(),
        "brands": Brand.objects.count(),
        "products": Product.objects.count(),
        "shoppers": User.objects.filter(username__startswith="shopper").count(),
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "events": Event.objects.count(),
    }


def test_seed_creates_the_requested_amounts():
    report = seed_demo(**SMALL)
    counts = snapshot()
    assert counts["leaves"] == 8
    assert counts["products"] == 120
    assert counts["shoppers"] == 40
    assert counts["departments"] == 6  # 8 leaves spread round-robin over the 6 departments
    assert counts["orders"] == report.orders > 0
    assert counts["events"] == report.events_generated == report.events_written
    assert get_user_model().objects.get(username="admin").is_superuser
    assert get_user_model().objects.get(username="shopper1").check_password("demo")
    assert all(c.products.exists() for c in Category.objects.filter(parent__isnull=False))


def test_seed_twice_changes_nothing():
    seed_demo(**SMALL)
    before = snapshot()
    again = seed_demo(**SMALL)
    assert again.events_written == 0
    assert snapshot() == before


def test_flush_replaces_the_data():
    seed_demo(**SMALL)
    seed_demo(n_products=50, n_categories=6, n_shoppers=10, seed=9, flush=True)
    counts = snapshot()
    assert counts["products"] == 50
    assert counts["leaves"] == 6
    assert counts["shoppers"] == 10
    assert not Event.objects.filter(product_id__lt=Product.objects.order_by("pk").first().pk).exists()


def test_history_is_a_plausible_funnel():
    seed_demo(**SMALL)
    by_kind = dict(Event.objects.values_list("kind").annotate(n=Count("id")))
    assert by_kind["view"] > by_kind["add_to_cart"] > by_kind["purchase"] > 0
    assert by_kind.get("search", 0) > 0

    now = timezone.now()
    oldest = Event.objects.order_by("created_at").first().created_at
    assert now - timedelta(days=61) < oldest
    assert Event.objects.order_by("-created_at").first().created_at <= now

    # Every purchase event belongs to a real order with the same product on one of its lines.
    lines = set(OrderLine.objects.values_list("order_id", "product_id"))
    for order_id, product_id in Event.objects.filter(kind="purchase").values_list("order_id", "product_id"):
        assert (int(order_id), product_id) in lines

    # Shoppers have favourite categories: most of a shopper's views fall in a few of them.
    views = Event.objects.filter(kind="view", user__isnull=False)
    top_share = []
    for user_id in views.values_list("user_id", flat=True).distinct():
        per_cat = (
            views.filter(user_id=user_id)
            .values("product__category")
            .annotate(n=Count("id"))
            .order_by("-n")
            .values_list("n", flat=True)
        )
        counts = list(per_cat)
        if sum(counts) >= 10:
            top_share.append(sum(counts[:2]) / sum(counts))
    assert top_share
    assert sum(top_share) / len(top_share) > 0.5


def test_guests_and_shoppers_both_appear():
    seed_demo(**SMALL)
    assert Event.objects.filter(user__isnull=True).exists()
    assert Event.objects.filter(user__isnull=False).exists()
    assert Order.objects.filter(user__isnull=True).exists()
    assert Order.objects.filter(user__isnull=False).exists()


def test_command_parses_arguments_and_rejects_bad_ones(capsys):
    call_command(
        "seed_demo", "--products", "30", "--categories", "6", "--shoppers", "5", "--seed", "1", "-v", "0"
    )
    assert Product.objects.count() == 30
    with pytest.raises(CommandError):
        call_command("seed_demo", "--categories", "99", "-v", "0")
    with pytest.raises(CommandError):
        call_command("seed_demo", "--products", "3", "--categories", "6", "-v", "0")


def test_seeding_ends_with_trained_models_built_from_the_seeded_events():
    report = seed_demo(**{**SMALL, "train": True})
    assert report.model_version is not None
    storage.clear_cache()
    assert storage.active_version_id() == report.model_version
    version = ModelVersion.objects.get(pk=report.model_version)
    assert version.status == ModelVersion.Status.READY
    assert version.n_items == Product.objects.count()
    assert 0 < version.n_events <= Event.objects.count()


def test_seeding_again_keeps_the_models_when_nothing_is_new():
    first = seed_demo(**{**SMALL, "train": True})
    again = seed_demo(**{**SMALL, "train": True})
    assert again.events_written == 0
    assert again.model_version == first.model_version
    assert ModelVersion.objects.count() == 1


def test_command_if_empty_leaves_the_data_but_trains_missing_models(capsys):
    seed_demo(**SMALL)  # seeded without models
    before = snapshot()
    assert ModelVersion.objects.count() == 0
    call_command("seed_demo", "--if-empty", "--products", "30", "--categories", "6", "-v", "0")
    assert snapshot() == before
    storage.clear_cache()
    assert storage.active_version_id() is not None
    assert "not seeding" in capsys.readouterr().out


def test_seeding_leaves_portraits_to_look_at():
    """After `make demo` the Portraits admin lists the seeded shoppers (issue 10, item 17: it was
    empty until a rebuild nobody mentioned)."""
    from recommendations.models import Portrait

    report = seed_demo(**{**SMALL, "train": True})
    users_with_events = Event.objects.filter(user__isnull=False).values("user").distinct().count()
    assert report.portraits == Portrait.objects.count() > 0
    assert Portrait.objects.filter(user__isnull=False).count() == users_with_events
    assert Portrait.objects.filter(user__isnull=True).exists()  # active guests too
    shopper = Portrait.objects.filter(user__isnull=False).order_by("-monetary").first()
    assert shopper.categories and shopper.segment


def test_command_says_where_the_portraits_are(capsys, admin_client):
    call_command(
        "seed_demo", "--products", "30", "--categories", "6", "--shoppers", "5", "--seed", "1", "-v", "0"
    )
    out = capsys.readouterr().out
    from recommendations.models import Portrait

    assert f"Portraits: {Portrait.objects.count()} (admin: Recommendations > Portraits)." in out
    page = admin_client.get("/admin/recommendations/portrait/")
    assert page.status_code == 200
    assert "0 portraits" not in page.content.decode()
    assert "shopper1" in page.content.decode()
