"""Self-evaluation at every rebuild: choose each context's blend on the shop's own holdout.

:func:`evaluate` runs :func:`recommendations.engine.selection.select` on the rebuild's event log
(seeded; the search bounded by ``SELF_EVALUATION_MAX_EVALUATIONS`` points costing at most
``SELF_EVALUATION_SEARCH_COST`` of the baselines, priced by :mod:`recommendations.engine.cost`,
never by the clock) and returns the JSON record stored in ``ModelVersion.metrics["selection"]``;
:func:`chosen_parts` turns the chosen models into parts serving reads
(:mod:`recommendations.serving.chosen`): their validation fits while little was held out, else
refits on every event; the iALS baseline fit is the rebuild's built-in ALS too (:data:`BUILTIN_ALS`);
:func:`record` writes one :class:`~recommendations.models.ModelQuality` row per context when the
version goes live. A context with too little data keeps the built-in recipe, and says so.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommendations.conf import app_settings
from recommendations.engine.candidates import Candidate, candidates
from recommendations.engine.sampling import sample_users
from recommendations.engine.selection import REUSE_HELD_OUT_SHARE, Settings, param_key, select
from recommendations.engine.session import Sessions
from recommendations.engine.similarity import csr_arrays, topk_dense, topk_per_row
from recommendations.models import ActiveModel, ModelQuality, ModelVersion
from recommendations.training.eventlog import TrainingLog

logger = logging.getLogger(__name__)

Arrays = dict[str, np.ndarray]
PART_PREFIX = "choice."
#: where :func:`evaluate`'s ``keep`` holds the fit the rebuild serves as its built-in ALS source:
#: the iALS baseline (default, or the live choice) of the validation, while it held out little
BUILTIN_ALS = "_builtin_als"
BUILTIN_ALS_FROM = "ials"
#: ... or, when the validation held out much (a sample of a big shop's shoppers), the iALS
#: baseline's (params, validation fit) that :func:`chosen_parts` refits on every event from its
#: item factors (:data:`WARM_ITERATIONS` alternations) as the built-in ALS, and as the chosen
#: iALS of the same params
WARM_ALS = "_warm_als"
WARM_ITERATIONS = 3
#: ... and the item-kNN baseline, which the rebuild serves (its top NEIGHBOURS per item) as the
#: built-in item-kNN when it weighs items as the built-in does (:func:`builtin_itemknn`)
BUILTIN_ITEMKNN = "_builtin_itemknn"
#: models fitted at load time from the stored sessions (only their parameters are stored); the
#: others (item x item neighbours, iALS factors, popularity) are stored as parts
SEQUENCE_MODELS = frozenset({"stan", "sequential_rules"})
#: models whose part holds only their hyper-parameters: their data is the users part's history
#: rows, which serving reads anyway (user-kNN's neighbours are the training users)
PARAMETER_MODELS = frozenset({"userknn"})


def selection_settings() -> Settings:
    share = app_settings.SELF_EVALUATION_SEARCH_COST
    return Settings(
        budget_seconds=float(app_settings.SELF_EVALUATION_BUDGET_SECONDS),
        max_evaluations=int(app_settings.SELF_EVALUATION_MAX_EVALUATIONS),
        max_queries=int(app_settings.SELF_EVALUATION_MAX_QUERIES),
        min_queries=int(app_settings.SELF_EVALUATION_MIN_QUERIES),
        seed=int(app_settings.SELF_EVALUATION_SEED),
        max_ease_items=int(app_settings.EASE_MAX_ITEMS),
        search_cost=None if share is None else float(share),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def part_name(model: str, params: Mapping[str, Any]) -> str:
    """The part holding ``model`` fitted with ``params`` (one per distinct fit)."""
    key = repr(sorted((k, _jsonable(v)) for k, v in params.items()))
    return f"{PART_PREFIX}{model}.{zlib.crc32(key.encode()):08x}"


def evaluate(
    data: TrainingLog,
    build: Callable[..., sp.csr_matrix],
    settings: Settings | None = None,
    keep: dict[str, Any] | None = None,
) -> dict:
    """The selection on ``data``'s events, as a JSON-ready dict (``contexts``: per context the
    weights, params, metrics, query counts, reason and ``default_kept``). With ``keep``, the
    chosen models' validation fits go there by part name, for :func:`chosen_parts` to reuse, and the
    iALS baseline fit under :data:`BUILTIN_ALS` (for the built-in ALS source) while at most
    :data:`REUSE_HELD_OUT_SHARE` of the events were held out. The search goes on from the live
    version's choice (:func:`previous_params`). A log of more than ``SELF_EVALUATION_MAX_EVENTS``
    events is validated on a seeded sample of its shoppers (:func:`.sampling.sample_users`; the
    record's ``sample``), whose fits are never served."""
    settings = settings or selection_settings()
    if keep is not None:
        settings = replace(settings, keep_fitted=True, keep_baseline=(BUILTIN_ALS_FROM, "itemknn"))
    log, cap = data.log, app_settings.SELF_EVALUATION_MAX_EVENTS
    if cap is not None and len(log.items) > int(cap):
        log = sample_users(log, int(cap), settings.seed)
    selection = select(log, build, settings, previous=previous_params())
    if log is not data.log:
        # the validation fitted on a sample of the shoppers: what it held out of every event,
        # so the chosen models (and the built-in ALS, item-kNN) are fitted again on all of them
        trained = (1.0 - selection.held_out_share) * len(log.items)
        share = round(1.0 - trained / len(data.log.items), 4)
        selection = replace(selection, held_out_share=share)
    out = _jsonable(selection.as_dict())
    if log is not data.log:
        out["sample"] = {"events": len(log.items), "of": len(data.log.items), "users": log.n_users}
    little, sampled = selection.held_out_share <= REUSE_HELD_OUT_SHARE, log is not data.log
    for model, name in ((BUILTIN_ALS_FROM, BUILTIN_ALS), ("itemknn", BUILTIN_ITEMKNN)):
        baseline = selection.baselines.get(model)
        fitted = None if baseline is None else selection.fitted.get((model, param_key(baseline)))
        if keep is not None and fitted is not None and little:
            keep[name] = fitted
        elif keep is not None and fitted is not None and model == BUILTIN_ALS_FROM and sampled:
            keep[WARM_ALS] = (baseline, fitted)  # where chosen_parts starts the all-events fit from
    for context, choice in selection.contexts.items():
        out["contexts"][context]["default_kept"] = not choice.params
        if keep is not None:
            for model, params in choice.params.items():
                fitted = selection.fitted.get((model, param_key(params)))
                if fitted is not None:
                    keep[part_name(model, params)] = fitted
    return out


def builtin_itemknn(fitted: Mapping[str, Any], neighbours: int) -> Arrays | None:
    """The built-in item-kNN part from :func:`evaluate`'s item-kNN baseline fit (kept under
    :data:`BUILTIN_ITEMKNN`): its ``neighbours`` best per item, when it weighs items exactly as
    the built-in does (cosine, the same shrink, unnormalised rows, at least as many neighbours);
    None (the rebuild computes it in chunks) otherwise."""
    model = fitted.get(BUILTIN_ITEMKNN)
    same = (
        model is not None
        and app_settings.ITEMKNN_SIMILARITY == "cosine" == getattr(model, "similarity_kind", None)
        and float(getattr(model, "shrink", -1.0)) == float(app_settings.ITEMKNN_SHRINK)
        and not getattr(model, "normalize", True)
        and int(getattr(model, "k", 0)) >= neighbours
    )
    if not same:
        return None
    rows, cols, vals = topk_per_row(sp.csr_matrix(model.similarity, dtype=np.float32), neighbours)
    n = model.similarity.shape[0]
    similarity = sp.csr_matrix((vals.astype(np.float32), (rows, cols)), shape=(n, n))
    similarity.sort_indices()
    return csr_arrays(similarity)


def previous_params() -> dict[str, dict[str, Any]]:
    """model -> the hyper-parameters the live version's selection chose (the first context that
    has the model, known user first), for the search to go on from; none without one."""
    active = ActiveModel.objects.filter(kind="main").select_related("version").first()
    selection = active.version.metrics.get("selection") if active and active.version else None
    out: dict[str, dict[str, Any]] = {}
    for choice in (selection or {}).get("contexts", {}).values():
        for model, params in (choice.get("params") or {}).items():
            if isinstance(params, dict):
                out.setdefault(model, params)
    return out


def chosen_parts(
    selection: dict, matrix: sp.csr_matrix, data: TrainingLog, fitted: Mapping[str, Any] | None = None
) -> dict[str, Arrays]:
    """Every chosen (model, params) fitted on the whole ``matrix``, as storable parts; a fit of
    ``fitted`` (from :func:`evaluate`'s ``keep``) is reused instead while the validation held out
    little (:data:`REUSE_HELD_OUT_SHARE`). Popularity is always counted on every event."""
    pool: dict[str, Candidate] = candidates(matrix, int(app_settings.EASE_MAX_ITEMS))
    reuse = fitted if fitted and selection.get("held_out_share", 1.0) <= REUSE_HELD_OUT_SHARE else {}
    warm: dict[str, Any] = {}  # part name -> an iALS fitted on every event from a validation fit
    warm_from = not reuse and bool(fitted) and WARM_ALS in fitted  # a sample's validation fits
    if warm_from:
        params, start = fitted[WARM_ALS]
        warm[part_name("ials", params)] = _warm_ials(pool["ials"], params, start, matrix)
        if isinstance(fitted, dict):  # the rebuild serves it as its built-in ALS (BUILTIN_ALS)
            fitted[BUILTIN_ALS] = warm[part_name("ials", params)]
            selection["warm_refits"] = [part_name("ials", params)]
    sessions: Sessions | None = None
    parts: dict[str, Arrays] = {}
    reused: list[str] = []
    for choice in selection.get("contexts", {}).values():
        if choice.get("default_kept"):
            continue
        names = choice.setdefault("parts", {})  # serving finds each chosen model's part here
        for model in choice["weights"]:
            params = choice["params"].get(model, {})
            if model in SEQUENCE_MODELS or model not in pool:
                continue
            name = names[model] = part_name(model, params)
            if name in parts:
                continue
            if model in PARAMETER_MODELS:
                parts[name] = _parameters({**pool[model].grid[0], **params})
                continue
            if name in reuse and model != "popularity":
                parts[name] = _arrays(model, reuse[name])
                reused.append(name)
                continue
            if model == "ials" and warm_from and name not in warm and name in fitted:
                warm[name] = _warm_ials(pool["ials"], params, fitted[name], matrix)
                selection.setdefault("warm_refits", []).append(name)
            if name in warm:
                parts[name] = _arrays(model, warm[name])
                continue
            if pool[model].kind == "sequence":
                sessions = sessions or Sessions.from_log(data.log)
            parts[name] = _arrays(model, pool[model].fit(params, matrix, sessions))
    if reuse:
        selection["reused_fits"] = sorted(reused)  # refitted: popularity; nothing to fit: user-kNN
    return parts


def _warm_ials(ials: Candidate, params: Mapping[str, Any], start: Any, matrix: sp.csr_matrix) -> Any:
    """The iALS of ``params`` fitted on every event of ``matrix``, from ``start``'s item factors
    (its validation fit on a sample: the same items): :data:`WARM_ITERATIONS` alternations."""
    return ials.make(**params).refit(matrix, start.item_factors, WARM_ITERATIONS)


def _parameters(params: Mapping[str, Any]) -> Arrays:
    """A part of scalars (see :data:`PARAMETER_MODELS`); serving fits the model from them."""
    return {key: np.asarray(value, dtype=np.float64) for key, value in params.items()}


def _arrays(model: str, fitted: Any) -> Arrays:
    if model == "popularity":
        return {"scores": np.asarray(fitted.item_scores, dtype=np.float32)}
    if model == "ials":
        y = fitted.item_factors
        return {
            "item_factors": y.astype(np.float32),
            "yty": (y.T @ y).astype(np.float64),
            "regularization": np.asarray(fitted.regularization, dtype=np.float64),
            "alpha": np.asarray(fitted.alpha, dtype=np.float64),
            "frequency_scaling": np.asarray(fitted.frequency_scaling, dtype=np.float64),
            "user_norm": np.asarray(getattr(fitted, "_user_norm", 1.0), dtype=np.float64),
        }
    if model == "ease":
        return csr_arrays(topk_dense(fitted.weights, int(app_settings.NEIGHBOURS)))
    similarity = sp.csr_matrix(fitted.similarity, dtype=np.float32)
    similarity.sort_indices()
    return csr_arrays(similarity)


def record(version: ModelVersion) -> int:
    """One ``ModelQuality`` row per context of ``version``'s selection (none without one)."""
    selection = version.metrics.get("selection")
    if not isinstance(selection, dict):
        return 0
    rows = []
    for context, choice in selection.get("contexts", {}).items():
        metrics = choice.get("metrics", {})
        chosen = metrics.get("chosen") or metrics.get("default") or {}
        rows.append(
            ModelQuality(
                version=version,
                version_number=version.pk,
                context=context,
                weights=choice.get("weights", {}),
                params=choice.get("params", {}),
                metrics=metrics,
                n_queries=choice.get("n_queries", {}),
                default_kept=bool(choice.get("default_kept")),
                reason=choice.get("reason", ""),
                k=int(selection.get("k", 10)),
                ndcg=chosen.get("objective"),
                popularity_ndcg=metrics.get("popularity", {}).get("objective"),
            )
        )
    ModelQuality.objects.bulk_create(rows)
    return len(rows)
