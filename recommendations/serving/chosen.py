"""The blends a rebuild's self-evaluation chose, per context, as serving sources.

Read once per model version (with the bundle): ``ModelVersion.metrics["selection"]`` names, per
context (``user``, ``session``, ``similar``, ``cart``), the chosen models, their weights and
hyper-parameters, and the part each fitted model was stored in
(:mod:`recommendations.training.selfeval`). Sequence models (STAN, sequential rules) are fitted
here from the stored sessions. A context whose default was kept (too little data) is absent, and
its slot keeps the built-in recipe.

Each chosen model becomes one source named ``auto.<context>.<model>`` (the algorithm analytics
credits), scored like the built-in sources: item x item neighbours of the anchors, an exact iALS
fold-in, the popularity vector, the sequence model on the visitor's recent clicks (a known
user's newest ``query_window`` ones, as the holdout chose), or user-kNN: the shopper's history row
against the training users' rows (the users part), fitted here, and only when a blend chose it.

Where the holdout chose to re-show what a known shopper touched (``reshow``: the weights of the
``buy_again`` and ``browsed`` sources), "for you" adds those sources and lets them, and only them,
place the shopper's own items (:func:`recommendations.engine.reshow.merge`); purchased durables,
which ``buy_again`` never scores, stay out. Each shopper's weights are scaled by how often their
visits came back to an item (``comebacks``: the shop's rate the choice was made with, and the
shopper's counts of the rebuild, :mod:`recommendations.engine.comebacks`); a shopper whose factor
is 0 is served as where nothing is re-shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommendations import modelstore as storage
from recommendations.engine.comebacks import Comebacks
from recommendations.engine.hybrid import SourceScores
from recommendations.engine.reshow import SEEN_SOURCES
from recommendations.engine.session import MAX_QUERY, Sessions, Transitions, stan
from recommendations.engine.similarity import csr_from
from recommendations.engine.userknn import UserKNN
from recommendations.models import ModelVersion

logger = logging.getLogger(__name__)

#: slot -> the context whose choice it serves (for_you: "user" or "session", see context_for)
SLOT_CONTEXTS = {"for_you": "user", "similar": "similar", "cart": "cart"}
#: built-in sources a chosen blend keeps beside its own (each gated by its own evaluation)
KEPT_SOURCES = ("deep",)

Scorer = Callable[..., SourceScores | None]


@dataclass
class Chosen:
    weights: dict[str, dict[str, float]] = field(default_factory=dict)  # context -> {source: weight}
    models: dict[str, tuple[str, Any]] = field(default_factory=dict)  # source -> (kind, model)
    # context -> the seen sources ("buy_again", "browsed") its list adds, and with what weight:
    # the holdout's choice of re-showing what the shopper touched (none: never re-shown)
    reshow: dict[str, dict[str, float]] = field(default_factory=dict)
    # context -> the shop's rate of visits that come back, which scales each shopper's re-show
    # weights (engine.comebacks; absent: a choice made before re-showing was personal, unscaled)
    comebacks: dict[str, Comebacks] = field(default_factory=dict)
    window: int = MAX_QUERY  # a known user's sequence query: their newest N events


def _sequence_model(model: str, params: dict, sessions: Sessions) -> Any:
    return (stan(**params) if model == "stan" else Transitions(**params)).fit(sessions)


def _stored(model: str, arrays: dict[str, np.ndarray], users: Callable[[], sp.csr_matrix]) -> tuple[str, Any]:
    if model == "userknn":  # its part holds k and shrink; its neighbours are the users' rows
        return "userknn", UserKNN(k=int(arrays["k"]), shrink=float(arrays["shrink"])).fit(users())
    if model == "popularity":
        return "popularity", arrays["scores"].astype(np.float64)
    if model == "ials":
        return "ials", {k: (v if v.ndim else float(v)) for k, v in arrays.items()}
    return "neighbours", csr_from(arrays)


def load(version_id: int, parts: dict[str, dict[str, np.ndarray]], n_items: int) -> Chosen | None:
    """The stored choice of ``version_id`` (None: nothing chosen, built-in recipes), read where the
    bundle's parts come from (the read replica once it holds the version)."""
    rows = ModelVersion.objects.using(storage.serving_database(version_id)).filter(pk=version_id)
    metrics = rows.values_list("metrics", flat=True).first() or {}
    selection = metrics.get("selection")
    if not isinstance(selection, dict):
        return None
    out = Chosen()
    sessions = None
    history: list[sp.csr_matrix] = []

    def users() -> sp.csr_matrix:  # the trained users x items rows, read once if a model needs them
        if not history:
            rows = parts["users"]
            history.append(
                csr_from({k.removeprefix("history_"): v for k, v in rows.items() if k.startswith("history_")})
            )
        return history[0]

    if "session" in parts and parts["session"]["items"].size:
        s = parts["session"]
        sessions = Sessions(s["indptr"], s["items"], s["timestamps"], n_items)
    for context, choice in selection.get("contexts", {}).items():
        if choice.get("default_kept") or context not in ("user", "session", "similar", "cart"):
            continue
        weights: dict[str, float] = {}
        for model, weight in choice.get("weights", {}).items():
            source = f"auto.{context}.{model}"
            part = choice.get("parts", {}).get(model)
            if part is not None and part in parts:
                out.models[source] = _stored(model, parts[part], users)
            elif model in ("stan", "sequential_rules") and sessions is not None:
                out.models[source] = (
                    "sequence",
                    _sequence_model(model, choice["params"].get(model, {}), sessions),
                )
            else:
                logger.warning("version %s: chosen model %s of %s is missing", version_id, model, context)
                weights = {}
                break
            weights[source] = float(weight)
        if weights:
            out.weights[context] = weights
            reshow = {n: float(w) for n, w in (choice.get("reshow") or {}).items() if n in SEEN_SOURCES and w}
            if reshow:
                out.reshow[context] = reshow
                if choice.get("comebacks"):
                    out.comebacks[context] = Comebacks(**choice["comebacks"])
    out.window = int(selection.get("query_window") or MAX_QUERY)
    return out if out.weights else None


def context_for(slot: str, known_user: bool) -> str | None:
    context = SLOT_CONTEXTS.get(slot)
    if context == "user" and not known_user:
        return "session"
    return context


def ials_scores(model: dict, items: np.ndarray, weights: np.ndarray, kind: str) -> SourceScores | None:
    """Exact fold-in of the anchors (frequency-scaled regularisation as in training)."""
    if not items.size:
        return None
    y = model["item_factors"]
    factors = y[items].astype(np.float64)
    conf = weights * model["alpha"]
    reg = model["regularization"]
    if model["frequency_scaling"]:
        weight = model["alpha"] * items.size + y.shape[0]
        reg = reg * (weight / model["user_norm"]) ** model["frequency_scaling"]
    gram = model["yty"] + reg * np.eye(y.shape[1])
    x = np.linalg.solve(gram + factors.T @ (conf[:, None] * factors), factors.T @ (1.0 + conf))
    scores = y @ x.astype(np.float32)
    scores[items] = 0.0
    return SourceScores(scores, kind=kind, default_evidence=(int(items[np.argmax(weights)]),))


def userknn_scores(
    model: UserKNN, items: np.ndarray, weights: np.ndarray, kind: str, row: int | None = None
) -> SourceScores | None:
    """The anchors as one history row scored by its nearest training users (one sparse product
    against the users sharing an anchor); ``row``, the shopper's own training row, is not their
    own neighbour (it would only vouch for their own history)."""
    if not items.size:
        return None
    n_items = model.interactions.shape[1] if model.interactions is not None else 0
    query = sp.csr_matrix(
        (weights.astype(np.float32), (np.zeros(items.size, np.int64), items)), shape=(1, n_items)
    )
    exclude = None if row is None else np.asarray([row], dtype=np.int64)
    scores = model.score(query, exclude)[0].astype(np.float64)
    scores[items] = 0.0
    if not scores.any():
        return None
    return SourceScores(scores, kind=kind, default_evidence=(int(items[np.argmax(weights)]),))
