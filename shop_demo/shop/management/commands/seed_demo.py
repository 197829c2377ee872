from django.core.management.base import BaseCommand, CommandError

from recommendations.models import Portrait
from shop_demo.shop.models import Product
from shop_demo.shop.seeding import build_portraits, seed_demo, train_models
from shop_demo.shop.seeding.words import MAX_LEAVES
from shop_demo.shop.seeding_ads import seed_ad_campaigns


class Command(BaseCommand):
    help = (
        "Fill the demo shop: a catalogue, shopper accounts (shopper1.. / password 'demo'), an admin "
        "(admin/admin), orders and ~60 days of browsing history recorded as recommendation events, "
        "then train the recommendation models. Idempotent for a given --seed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=2000)
        parser.add_argument("--categories", type=int, default=30, help=f"leaf categories, 1-{MAX_LEAVES}")
        parser.add_argument("--shoppers", type=int, default=500)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--flush", action="store_true", help="delete the demo data and all events first")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the shop already has products (still train models if none are active)",
        )
        parser.add_argument("--no-train", action="store_true", help="skip training the recommendation models")
        parser.add_argument("--no-portraits", action="store_true", help="skip building the shopper portraits")

    def handle(self, *args, **options):
        if not 1 <= options["categories"] <= MAX_LEAVES:
            raise CommandError(f"--categories must be between 1 and {MAX_LEAVES}")
        if options["products"] < options["categories"]:
            raise CommandError("--products must be at least --categories (one product per category)")
        if options["shoppers"] < 0:
            raise CommandError("--shoppers cannot be negative")
        if options["if_empty"] and not options["flush"] and Product.objects.exists():
            version = None if options["no_train"] else train_models(say=self.stdout.write)
            built = None
            if not options["no_portraits"] and not Portrait.objects.exists():
                built = build_portraits(say=self.stdout.write)
            self.stdout.write(f"The shop already has products: not seeding. {self._models(version)}")
            self.stdout.write(self._portraits(built))
            return
        report = seed_demo(
            n_products=options["products"],
            n_categories=options["categories"],
            n_shoppers=options["shoppers"],
            seed=options["seed"],
            flush=options["flush"],
            progress=options["verbosity"] > 0,
            train=not options["no_train"],
            portraits=not options["no_portraits"],
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {report.products} products in {report.categories} categories "
                f"({report.brands} brands), {report.shoppers} shoppers, {report.orders} orders; "
                f"{report.events_written} of {report.events_generated} events were new. "
                f"{self._models(report.model_version)}"
            )
        )
        self.stdout.write(self._portraits(report.portraits))
        self.stdout.write(f"Ad campaigns: {seed_ad_campaigns()} (admin: Recommendations > Campaigns).")

    @staticmethod
    def _portraits(built: int | None) -> str:
        count = Portrait.objects.count()
        if built is None and not count:
            return "Portraits: none yet (the Celery workers build them, or run the rebuild_portraits task)."
        return f"Portraits: {count} (admin: Recommendations > Portraits)."

    @staticmethod
    def _models(version: int | None) -> str:
        if version is None:
            return "Recommendation models: not trained (run `manage.py recommendations_rebuild`)."
        return f"Recommendation models: version {version} active."
