"""Privacy is checked against trained models too: the serving shop and its fresh model state."""

from tests.ads.conftest import _fresh_ad_caches, make_campaign  # noqa: F401
from tests.serving.conftest import _fresh_models, shop  # noqa: F401
