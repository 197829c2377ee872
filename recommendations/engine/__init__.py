"""Pure numpy/scipy recommendation algorithms.

Nothing in this package imports Django, Celery, DRF or Redis (an import-linter contract in
pyproject.toml enforces it). Item and user ids are opaque: the engine works on integer indices
and the caller maps them to product primary keys or CSV ids.
"""
