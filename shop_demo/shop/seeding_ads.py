"""Demo ad campaigns (and one ad-ranking experiment), so the home and search pages show an ad slot.

Idempotent: campaigns are keyed by name and updated in place; their spend is kept.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Count

from recommendations.models import Campaign, Experiment, Variant
from shop_demo.shop.models import Category, Product

EXPERIMENT_NAME = "Home ads: expected value vs highest bid"


def _campaign(name: str, **fields: object) -> Campaign:
    defaults = {
        "status": Campaign.Status.ACTIVE,
        "bid_type": Campaign.BidType.CPC,
        "bid_amount": Decimal("0.40"),
        "daily_budget": Decimal("50.00"),
        "total_budget": Decimal("1500.00"),
        "frequency_cap": 0,
        **fields,
    }
    campaign, _ = Campaign.objects.update_or_create(name=name, defaults=defaults)
    return campaign


@transaction.atomic
def seed_ad_campaigns() -> int:
    """Create the demo campaigns; returns how many exist afterwards."""
    products = Product.objects.filter(is_active=True).select_related("category")
    if not products.exists():
        return 0
    _campaign(
        "Banner: free delivery week",
        banner_title="Free delivery all week: new arrivals",
        banner_image_url="",
        target_url="/products/?sort=new",
        bid_type=Campaign.BidType.CPM,
        bid_amount=Decimal("3.00"),
        frequency_cap=5,
    )
    featured = products.order_by("-price").first()
    _campaign("Featured: " + featured.name[:100], product=featured, bid_amount=Decimal("0.60"))
    leaves = (
        Category.objects.filter(parent__isnull=False)
        .annotate(n=Count("products"))
        .filter(n__gt=0)
        .order_by("-n", "pk")[:4]
    )
    for leaf in leaves:
        product = products.filter(category=leaf).order_by("-price").first()
        words = [w for w in leaf.name.lower().replace("&", " ").split() if len(w) > 2]
        _campaign(
            f"Search: {leaf.name}"[:120],
            product=product,
            bid_amount=Decimal("0.50"),
            target_keywords=[leaf.name.lower(), *words, *product.name.lower().split()[:2]],
            target_categories=[str(leaf.pk)],
            frequency_cap=10,
        )
    _campaign(
        "Loyal shoppers: premium pick",
        product=products.order_by("-price")[1:2].first() or featured,
        target_segments=["loyal", "big_spender"],
        bid_amount=Decimal("0.80"),
    )
    experiment, created = Experiment.objects.get_or_create(
        name=EXPERIMENT_NAME, defaults={"slot": "ads:home", "status": Experiment.Status.DRAFT}
    )
    if created:
        Variant.objects.create(experiment=experiment, name="expected value", ranking_policy="expected_value")
        Variant.objects.create(experiment=experiment, name="highest bid", ranking_policy="bid")
        if not Experiment.objects.filter(slot="ads:home", status=Experiment.Status.RUNNING).exists():
            from django.utils import timezone

            experiment.status = Experiment.Status.RUNNING
            experiment.started_at = timezone.now()
            experiment.save()
    return Campaign.objects.count()
