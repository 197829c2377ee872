from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = _("Recommendations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recommendations import checks  # noqa: F401 - registers the system checks
        from recommendations.api import slotbody
        from recommendations.conf import app_settings
        from recommendations.portraits import receivers as portrait_receivers
        from recommendations.serving import refresh

        portrait_receivers.connect()
        refresh.connect()  # cached slots are refreshed after a visitor's live state changes
        slotbody.register()  # ... including the API's ready-made bodies

        if not app_settings.PRODUCT_MODEL:
            # The checks framework reports it with a precise message; nothing to connect to yet.
            return
        from recommendations.tracking import receivers

        # No try/except: a product or order model that does not resolve raises
        # ImproperlyConfigured naming the setting. Swallowing it would start a shop that silently
        # records nothing (gunicorn and Celery never run the system checks).
        receivers.connect()
