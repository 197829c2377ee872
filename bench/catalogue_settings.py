"""Settings for bench/catalogue.py: bench/serving.py's, with one database and one Redis key prefix
per catalogue size (``CATALOGUE_PRODUCTS``), so the servers of every size can run side by side and
be measured in alternating rounds; ``CATALOGUE_SLOT_CACHE=0`` turns the slot cache off, so the HTTP
path can be measured on misses (every for-you read runs the serving core) as well as cached reads.

The database is BENCH_SERVING_DATABASE_URL's name + ``_<products>`` (created if missing)."""

import os

from bench.serving_settings import *  # noqa: F403 - the same bench project

_products = os.environ.get("CATALOGUE_PRODUCTS")
if _products:
    DATABASES["default"]["NAME"] = f"{DATABASES['default']['NAME']}_{int(_products)}"  # noqa: F405
    RECOMMENDATIONS_REDIS_KEY_PREFIX = f"reccat{int(_products)}:"

if os.environ.get("CATALOGUE_SLOT_CACHE", "1") == "0":
    RECOMMENDATIONS_SLOT_CACHE = False

# At 1M products the full rebuild (self-evaluation on) fails storing a part (see docs/benchmarks.md,
# "### for-you against catalogue size"); CATALOGUE_SELF_EVALUATION=0 rebuilds without it.
if os.environ.get("CATALOGUE_SELF_EVALUATION", "1") == "0":
    RECOMMENDATIONS_SELF_EVALUATION = False
