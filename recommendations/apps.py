from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = _("Recommendations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recommendations import checks  # noqa: F401 - registers the system checks
        from recommendations.conf import app_settings
        from recommendations.portraits import receivers as portrait_receivers
        from recommendations.serving import refresh

        portrait_receivers.connect()
        refresh.connect()  # cached slots are refreshed after a visitor's live state changes

        if not app_settings.PRODUCT_MODEL:
            # The checks framework reports it with a precise message; nothing to connect to yet.
            return
        from recommendations.tracking import receivers

        try:
            receivers.connect()
        except Exception:
            return
