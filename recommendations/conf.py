"""Every setting of the app with its default, behind one lazy object.

Settings are read from Django settings as ``RECOMMENDATIONS_<NAME>``; ``app_settings.<NAME>``
returns that value or the default. ``override_settings`` works: a ``setting_changed`` receiver
clears the cache in place, so nobody holds a stale copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

PREFIX = "RECOMMENDATIONS_"

DEFAULTS: dict[str, Any] = {
    # --- integration -----------------------------------------------------------------------
    # "app_label.ModelName" of the shop's product model (required; no default on purpose).
    "PRODUCT_MODEL": None,
    # Dotted path to a recommendations.catalogue.ProductAdapter subclass.
    "PRODUCT_ADAPTER": "recommendations.catalogue.ProductAdapter",
    # Kill switch: False records nothing (receivers, middleware and the ingest API become no-ops).
    "ENABLED": True,
    # --- events ----------------------------------------------------------------------------
    # Weight of each event kind in the models. Built-in kinds may be re-weighted here.
    "EVENT_WEIGHTS": {
        "view": 1.0,
        "search": 0.0,
        "add_to_cart": 3.0,
        "remove_from_cart": -1.0,
        "purchase": 5.0,
        "impression": 0.0,
        "click": 2.0,
    },
    # Extra event kinds the shop records, name -> weight, e.g. {"wishlist": 2.0}.
    "CUSTOM_EVENTS": {},
    # Event kinds the HTTP API (POST events/) accepts; any other kind is refused with a 400 naming
    # the allowed ones. The default is what a browser can honestly report. Cart changes and
    # purchases carry money and quantities that feed lifetime value, segments, experiment revenue
    # and training, so they come from the shop's server: the added_to_cart/removed_from_cart/
    # order_placed signals or ORDER_MODEL. No client is exempt (staff sessions included): the API
    # records events for the requesting browser only, so a trusted server has nothing to gain from
    # it and uses the signals. Add "add_to_cart", "remove_from_cart" or custom kinds here only if
    # your pages report them from the browser and you accept that anyone can post them.
    "API_EVENT_KINDS": ("view", "search", "impression", "click"),
    # URL name -> capture rule for the middleware, e.g.
    # {"shop:product_detail": {"kind": "view", "product_kwarg": "pk"},
    #  "shop:search": {"kind": "search", "query_param": "q"}}.
    # A view rule may set "lookup_field" (default "pk") when the URL carries a slug.
    "TRACKED_VIEWS": {},
    # Requests without a User-Agent or whose User-Agent matches this (case-insensitive) regex are
    # bots: their anonymous browsing is not recorded, their purchases are, a logged-in user's events
    # are recorded under the user; they get no visitor cookie and no ads (tracking/bots.py).
    "BOT_USER_AGENT_PATTERN": (
        r"bot|crawl|spider|slurp|bingpreview|facebookexternalhit|headless|lighthouse|"
        r"python-requests|curl/|wget|httpclient|monitor|pingdom|preview"
    ),
    # Optional hook to the shop's order model: records purchases when an order is created,
    # without the shop sending order_placed. Dotted path of a recommendations.tracking.orders.OrderAdapter.
    "ORDER_MODEL": None,
    "ORDER_ADAPTER": "recommendations.tracking.orders.OrderAdapter",
    # The shop's currency (ISO 4217 code): prices and revenue in the admin and the slot templates
    # are written with it ("$4,499.00", "1,200.00 CHF").
    "CURRENCY": "USD",
    # --- visitors, consent and privacy -----------------------------------------------------
    "VISITOR_COOKIE_NAME": "rec_vid",
    "VISITOR_COOKIE_MAX_AGE": 365 * 24 * 3600,
    "VISITOR_COOKIE_SECURE": False,
    "VISITOR_COOKIE_SAMESITE": "Lax",
    "OPT_OUT_COOKIE_NAME": "rec_optout",
    # Treat "DNT: 1" / "Sec-GPC: 1" request headers as an opt-out.
    "HONOUR_DNT": False,
    "HONOUR_GPC": True,
    # How a client IP is kept with an event: "none", "truncate" (/24 and /48) or "hash" (keyed).
    "IP_MODE": "truncate",
    # --- ingest ----------------------------------------------------------------------------
    "MAX_BATCH_SIZE": 500,
    # Request body cap for the ingest endpoint (bytes).
    "MAX_BODY_BYTES": 1_000_000,
    "INGEST_THROTTLE_RATE": "1200/min",
    # The oldest timestamp an event may carry, in days before now (400 on the HTTP API), on every
    # path but bulk import, which only refuses dates before 1970. None: only that 1970 floor.
    "EVENT_MAX_AGE_DAYS": 365,
    # How far in the future a timestamp may be (client clocks run fast), in seconds.
    "EVENT_MAX_FUTURE_SECONDS": 300,
    # --- live state and Redis --------------------------------------------------------------
    # None: embedded mode (events go straight to the database, live state in process memory).
    "REDIS_URL": None,
    # Dotted path to the live store class; None picks Redis when REDIS_URL is set, else memory.
    "LIVE_STORE": None,
    "REDIS_KEY_PREFIX": "rec:",
    # --- read replica -----------------------------------------------------------------------
    # Alias in DATABASES of a PostgreSQL read replica for serving reads (the active model's
    # version, parts and chosen blend; portraits). None: everything on "default". Writes, training
    # and erasure always use "default"; a version the replica has not replayed yet is read there.
    "READ_DATABASE": None,
    "DRAIN_BATCH_SIZE": 2000,
    # Pending stream entries older than this are re-claimed from a dead worker.
    "DRAIN_CLAIM_IDLE_SECONDS": 60,
    # Back-pressure (recommendations.ingest.backpressure): while the Redis stream holds more than
    # this many events, POST events/ answers 429 with Retry-After (INGEST_RETRY_AFTER_SECONDS) and
    # stores nothing, and server-side capture (middleware, signals, order model) writes straight
    # to the database instead of the stream. None: no cap.
    "INGEST_MAX_BACKLOG": 100_000,
    "INGEST_RETRY_AFTER_SECONDS": 30,
    # How long a process reuses its reading of the backlog (one XLEN).
    "INGEST_BACKLOG_CHECK_SECONDS": 1.0,
    # --- health (manage.py recommendations_health) ------------------------------------------
    # The command exits non-zero (and says why) when Redis cannot be reached or any of these is
    # exceeded: events waiting in the stream, the age of the oldest of them, entries set aside in
    # the dead-letter stream (REDIS_KEY_PREFIX + "stream:dead"; inspect, replay or delete them to
    # get healthy again), and seconds since a worker last finished a drain (its heartbeat; the beat
    # schedule drains every second).
    "HEALTH_MAX_BACKLOG": 10_000,
    "HEALTH_MAX_EVENT_AGE_SECONDS": 120.0,
    "HEALTH_MAX_DEAD_LETTERS": 0,
    "HEALTH_MAX_HEARTBEAT_AGE_SECONDS": 120.0,
    "LIVE_RECENT_ITEMS": 50,
    "LIVE_RECENT_SEARCHES": 20,
    "LIVE_TTL_SECONDS": 30 * 24 * 3600,
    "PRODUCT_COUNTER_HALF_LIFE_HOURS": 24.0,
    # How long an idempotency key (event_id) is remembered in Redis.
    "DEDUP_TTL_SECONDS": 7 * 24 * 3600,
    # Seconds a product's catalogue facts (category, availability) are cached in process.
    "PRODUCT_INFO_TTL_SECONDS": 300,
    # --- privacy ---------------------------------------------------------------------------
    # Raw events older than this many days are rolled up into DailyEventCount and deleted by the
    # daily purge task; None keeps raw events forever.
    "RETENTION_DAYS": 365,
    # --- training (recommendations.training.pipeline) ----------------------------------------
    # Only events newer than this many days are read when models are rebuilt (None: all).
    "TRAINING_WINDOW_DAYS": 365,
    # Half-life of an event's weight in the interaction matrix (days; None: no decay).
    "HALF_LIFE_DAYS": 60.0,
    # A user with more events than this has their matrix row damped (bots, staff).
    "MAX_EVENTS_PER_USER": 5000,
    # Seconds of inactivity that end a visitor's session (session models, co-cart baskets).
    "SESSION_GAP_SECONDS": 1800,
    # Neighbours kept per item (item-kNN, EASE, content, bought together): serving is O(history x K).
    "NEIGHBOURS": 50,
    # Item-kNN similarity: "cosine", "asymmetric" or "bm25"; shrink term of the denominator.
    "ITEMKNN_SIMILARITY": "cosine",
    "ITEMKNN_SHRINK": 0.0,
    # Items per chunk task of the item-similarity build (a Celery group any worker can take).
    # None: the whole similarity in one task when ENGINE_BACKEND resolves to implicit (its
    # threads use every core of the worker), chunks of 5000 items on numpy.
    "SIMILARITY_CHUNK_ITEMS": None,
    # Which code fits item-kNN (cosine or BM25 without shrink) and ALS: "auto" (the implicit
    # library when it is installed, else ours), "numpy" (ours; always there) or "implicit"
    # (required; the system check fails without it). Same models, same serving; see
    # recommendations/engine/backends.py and docs/benchmarks.md for the measurement.
    "ENGINE_BACKEND": "auto",
    # Implicit ALS (Hu, Koren & Volinsky) hyper-parameters. With SELF_EVALUATION on, the rebuild
    # serves the self-evaluation's iALS baseline as this built-in source instead of fitting a
    # second ALS (while at most 10 % of the events were held out for validation).
    "ALS_FACTORS": 64,
    "ALS_ITERATIONS": 15,
    "ALS_REGULARIZATION": 0.05,
    "ALS_ALPHA": 10.0,
    # EASE is trained while the catalogue has at most this many items (memory: 8 * n^2 bytes).
    "EASE_MAX_ITEMS": 10_000,
    "EASE_L2": 200.0,
    # Bought together: minimum baskets holding a pair, and minimum lift.
    "BOUGHT_TOGETHER_MIN_SUPPORT": 2,
    "BOUGHT_TOGETHER_MIN_LIFT": 1.0,
    # Count add-to-cart sessions as baskets too (besides orders).
    "BOUGHT_TOGETHER_USE_CARTS": True,
    # Trending: half-life of the "now" signal in hours.
    "TRENDING_HALF_LIFE_HOURS": 24.0,
    # Self-evaluation at every rebuild (recommendations.training.selfeval): the shop's own events
    # are split into train and validation (each user's newest events, a random holdout, the next
    # click of new sessions, co-views, carts); every candidate model and blend is scored per
    # context (known user, anonymous session, product page "similar", cart) and serving uses the
    # winner. False: the built-in recipes, as before.
    "SELF_EVALUATION": True,
    # Hyper-parameter points the search scores besides every candidate's default: a count, not a
    # time, so the choice is the same on a loaded machine (recommendations.engine.selection). Each
    # rebuild goes on from the live version's choice, so the search spreads over rebuilds.
    "SELF_EVALUATION_MAX_EVALUATIONS": 8,
    # ... and they may cost at most this share of what fitting and scoring every candidate's
    # baseline costs, priced by a deterministic model of the data's size
    # (recommendations.engine.cost), the cheapest-so-far candidate searching next: a rebuild with
    # self-evaluation stays within 2x a plain one at any size. None: the count alone.
    "SELF_EVALUATION_SEARCH_COST": 0.2,
    # A safety fuse on the search's seconds (the record says when it blew); 0: the defaults only.
    "SELF_EVALUATION_BUDGET_SECONDS": 600.0,
    # Validation queries per split (the cost), and the fewest per context to choose at all
    # (below it the default recipe is kept and the record says so).
    "SELF_EVALUATION_MAX_QUERIES": 300,
    "SELF_EVALUATION_MIN_QUERIES": 100,
    "SELF_EVALUATION_SEED": 0,
    # The validation fits on at most this many events: above it, every event of a seeded random
    # sample of the shoppers (recommendations.engine.sampling), so its cost stops growing with the
    # shop; the chosen models are then fitted again on every event (iALS, and the built-in ALS,
    # from the sample's item factors: a few alternations). None: always every event.
    "SELF_EVALUATION_MAX_EVENTS": 1_000_000,
    # Keep this many old ready versions besides the active one; older ones are deleted.
    "KEEP_MODEL_VERSIONS": 2,
    # A version still "building" after this many seconds is marked failed (a dead worker).
    "BUILD_TIMEOUT_SECONDS": 6 * 3600,
    # A model part's bytes are stored in rows of at most this many bytes (recommendations.modelstore),
    # so a part of any size fits what a database accepts in one value (PostgreSQL: 1 GB, sent
    # escaped at twice its size) and storing holds one chunk in memory, not the whole part.
    "MODEL_PART_CHUNK_BYTES": 16 * 2**20,
    # Celery beat: rebuild every model this often (seconds; see recommendations.schedules).
    "REBUILD_SCHEDULE": 6 * 3600.0,
    # --- serving (recommendations.serving) -----------------------------------------------------
    # How often a process re-checks which model version is active (seconds; Redis GET or 1 query).
    "MODEL_CHECK_SECONDS": 5.0,
    # Default number of items a slot returns.
    "DEFAULT_LIMIT": 10,
    # Weight of a known user's trained history next to their live recent items.
    "HISTORY_WEIGHT": 0.5,
    # Re-raise errors inside recommend() instead of logging them and falling back (tests).
    "SERVING_RAISE_ERRORS": False,
    # Serve slots from a cache keyed by model version and the visitor's live-state version
    # (recommendations.serving.cache: Redis with RECOMMENDATIONS_REDIS_URL, else in process). A hit
    # is one lookup plus token signing; any new event of the visitor makes their entries stale.
    "SLOT_CACHE": True,
    # Longest an entry is served (catalogue changes such as a new price or a product going out of
    # stock reach cached slots within this time; the visitor's own events do at once).
    "SLOT_CACHE_TTL_SECONDS": 300,
    # Entries kept by the in-process cache (embedded defaults), least recently used dropped first.
    "SLOT_CACHE_MAX_ENTRIES": 20_000,
    # Redis mode: entries each process keeps a copy of, so that a repeated read makes no round trip
    # (recommendations.serving.near: Redis invalidates a copy when the visitor's slots change;
    # needs Redis 6+ client tracking, else off). 0: every read asks Redis.
    "SLOT_NEAR_CACHE_ENTRIES": 4096,
    # Refresh on write (Redis mode, a Celery worker): after a visitor's events, one task recomputes
    # their cached slots; further events while it is pending join it. This is how long the
    # "pending" flag lives at most (a lost task is retried by the next event after it). 0: off.
    "SLOT_CACHE_REFRESH_SECONDS": 10,
    # Slot recipes: {slot: {...}} merged key by key over recommendations.serving.slots.DEFAULT_SLOTS.
    # A recipe has "sources" ({source: weight}; sources: session, itemknn, ease, als, content,
    # bought_together, trending, recently_viewed, search), "limit", "normalisation" ("max"/"rank"),
    # "exclude_purchased", "exclude_in_cart", "diversity" ({"method": "none"|"mmr"|
    # "category_cap", "max_per_category": 3, "mmr_lambda": 0.7}), "fallbacks"
    # (["trending_in_category", "trending"]) and "exploration_share" (0..1, new items).
    "SLOTS": {},
    # --- portraits (recommendations.portraits) and analytics --------------------------
    # Half-life of an event's weight in a portrait's category and brand affinities (days).
    "PORTRAIT_HALF_LIFE_DAYS": 30.0,
    # Segment rules, checked in this order: churned (no activity for churned_days), at_risk
    # (no activity for at_risk_days), big_spender (revenue within the RFM window), loyal (orders
    # within the RFM window), new (first seen within new_days), else active.
    "PORTRAIT_SEGMENTS": {
        "churned_days": 120.0,
        "at_risk_days": 45.0,
        "big_spender_monetary": 500.0,
        "loyal_orders": 3,
        "new_days": 14.0,
    },
    # RFM (recency, frequency, monetary) counts purchases of the last this many days.
    "PORTRAIT_RFM_WINDOW_DAYS": 365.0,
    # A subject's portrait is rebuilt this many seconds after their first new event (later events
    # within the delay join the same rebuild). In eager Celery mode it is rebuilt when next read.
    "PORTRAIT_DEBOUNCE_SECONDS": 60,
    # Anonymous visitors keep a portrait while they were active within this many days.
    "PORTRAIT_VISITOR_ACTIVE_DAYS": 30,
    # Most recent events read per subject (bots and staff accounts stay cheap).
    "PORTRAIT_MAX_EVENTS": 5000,
    # Days of the "events per day" activity chart; entries kept in top lists.
    "PORTRAIT_ACTIVITY_DAYS": 30,
    "PORTRAIT_TOP_N": 10,
    # Celery beat: the bulk rebuild of every portrait (seconds; a celery crontab works too).
    "PORTRAIT_REBUILD_SCHEDULE": 24 * 3600.0,
    # Analytics dashboard: a purchase of a clicked product by the same shopper within this many
    # hours of the click counts as a conversion of the click's slot and algorithm.
    "ATTRIBUTION_WINDOW_HOURS": 24.0,
    # --- sponsored ad slots (recommendations.ads) -------------------------------------------------
    # Beta(alpha, beta) prior of a campaign's click-through rate: a new campaign is predicted at
    # alpha / (alpha + beta) and its own clicks and impressions take over as they accumulate.
    "ADS_CTR_PRIOR": (1.0, 99.0),
    # Predicted CTR = smoothed campaign CTR x (1 + weight x affinity); affinity in [0, 1] is the
    # visitor's live interest in the campaign's categories over their strongest interest.
    "ADS_AFFINITY_WEIGHT": 1.0,
    # Pacing: by a fraction f of the day a campaign may have spent daily_budget x (f + burst)
    # (never more than the daily budget), so the budget is spread over the day.
    "ADS_PACING_BURST": 0.1,
    # Seconds the list of live campaigns is cached in process (saving a campaign clears it).
    "ADS_CAMPAIGN_CACHE_SECONDS": 5.0,
    # Blended slots (organic + sponsored): the largest share of sponsored items, and where they go.
    "ADS_MAX_SPONSORED_SHARE": 0.25,
    "ADS_SPONSORED_POSITIONS": (1, 5, 9),
    # Requests without the visitor cookie are counted per network (/24, /48) and User-Agent, not
    # per (fresh) visitor: at most this many impressions of one campaign per day are served to,
    # and charged for, such a client (fewer when the campaign's own cap is lower; 0: none).
    "ADS_COOKIELESS_FREQUENCY_CAP": 3,
    # How long a rendered ad's signed click link is honoured (seconds).
    "ADS_CLICK_MAX_AGE_SECONDS": 7 * 24 * 3600,
    # --- experiments (recommendations.experiments) ---------------------------------------------
    # Seconds the list of running experiments is cached in process (saved changes clear it).
    "EXPERIMENTS_CACHE_SECONDS": 10.0,
    # Also write an Assignment row the first time an identity is bucketed (audit; never read back).
    "EXPERIMENTS_RECORD_ASSIGNMENTS": False,
    # Below this many per variant (impressions for CTR, exposed visitors for conversion and
    # revenue) the results say "not enough data" instead of an interval and a test: a handful of
    # visitors gives intervals like [1.0, 1.0] or [nan, nan] that look exact and mean nothing.
    "EXPERIMENTS_MIN_SAMPLE": 100,
}

# Settings that hold dotted paths, imported once on first access.
IMPORT_STRINGS = frozenset({"PRODUCT_ADAPTER", "ORDER_ADAPTER", "LIVE_STORE"})


class AppSettings:
    """Lazy view of ``RECOMMENDATIONS_*`` settings over :data:`DEFAULTS`."""

    def __init__(self, defaults: dict[str, Any], import_strings: frozenset[str]) -> None:
        self._defaults = defaults
        self._import_strings = import_strings
        self._cached: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        if name not in self._defaults:
            raise AttributeError(f"Invalid recommendations setting: {name!r}")
        value = getattr(settings, PREFIX + name, self._defaults[name])
        if name in self._import_strings and isinstance(value, str):
            value = import_string(value)
        self._cached.add(name)
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        for name in self._cached:
            delattr(self, name)
        self._cached.clear()

    @property
    def event_weights(self) -> dict[str, float]:
        """Every known event kind with its weight (built-in kinds plus CUSTOM_EVENTS)."""
        return {**self.EVENT_WEIGHTS, **self.CUSTOM_EVENTS}


app_settings = AppSettings(DEFAULTS, IMPORT_STRINGS)


# Process-wide objects built from settings (the adapter, the Redis client, the live store...), each
# registered with the settings it is built from, so that changing another setting keeps it (and, for
# the in-process live store, keeps the live state).
_T = TypeVar("_T")
_built_from: dict[Callable[..., Any], frozenset[str]] = {}
_lock = threading.Lock()


def built_from(*names: str) -> Callable[[Callable[[], _T]], Callable[[], _T]]:
    """Cache a zero-argument factory until one of the settings ``names`` (without the prefix)
    changes; :func:`clear_built` drops it. The owner of each object declares it where it lives,
    so this module never imports the features it serves."""

    def decorate(factory: Callable[[], _T]) -> Callable[[], _T]:
        cached = cache(factory)
        _built_from[cached] = frozenset(names)
        return cached

    return decorate


def clear_built(setting: str | None = None) -> None:
    """Drop the objects built from ``setting`` (a name without the prefix), or all of them."""
    with _lock:
        for getter, names in _built_from.items():
            if setting is None or setting in names:
                getter.cache_clear()  # type: ignore[attr-defined]


@receiver(setting_changed)
def _reload_app_settings(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(PREFIX):
        app_settings.reload()
        clear_built(setting.removeprefix(PREFIX))
