"""The dashboard is read over the portraits' small shop and staff users."""

from tests.portraits.conftest import _fresh_state, analyst, camper, plain_staff, shop  # noqa: F401
