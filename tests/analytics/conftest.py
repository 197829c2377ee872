"""The dashboard is read over the portraits' small shop and staff users."""

from tests.analytics.test_dashboard import scenario  # noqa: F401 - shared with test_presentation
from tests.portraits.conftest import _fresh_state, analyst, camper, plain_staff, shop  # noqa: F401
from tests.portraits.test_browser import browser  # noqa: F401 - the headless Chromium
