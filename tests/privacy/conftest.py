"""Privacy is checked against trained models too: the serving shop and its fresh model state."""

from tests.serving.conftest import _fresh_models, shop  # noqa: F401
