"""The optional deep sequential model as a serving source.

It is used only when (1) torch is installed, (2) a ``deep_sequential`` version is active and
(3) that version's stored offline evaluation beat the non-deep session blend
(``metrics["serve"]``, decided by :func:`recommendations.engine.deep.should_serve` when it was
trained). Otherwise the source gives nothing and the slot blends the other sources as usual.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from recommendations import modelstore as storage
from recommendations.engine import deep
from recommendations.engine.hybrid import SourceScores
from recommendations.models import ModelVersion
from recommendations.serving.bundle import Bundle
from recommendations.serving.visitor import Facts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    version: int | None
    model: deep.GRU4Rec | None
    to_model: dict[int, int]  # serving bundle item index -> deep model item index
    to_bundle: np.ndarray  # deep model item index -> serving bundle index (-1 unknown)
    bundle_version: int


_lock = threading.Lock()
_loaded: list[_Loaded | None] = [None]


def _load(version_id: int | None, bundle: Bundle) -> _Loaded:
    empty = _Loaded(version_id, None, {}, np.empty(0, np.int64), bundle.version)
    if version_id is None or not deep.is_available():
        return empty
    using = storage.serving_database(version_id)
    version = ModelVersion.objects.using(using).filter(pk=version_id).values("metrics").first()
    if version is None or not (version["metrics"] or {}).get("serve"):
        return empty  # trained, but its offline evaluation did not beat the blend
    arrays = storage.load_parts(version_id, ["model"], using=using)["model"]
    model = deep.GRU4Rec.from_bytes(arrays["state"].tobytes())
    item_ids = arrays["item_ids"].tolist()
    to_bundle = np.asarray([bundle.index.get(item_id, -1) for item_id in item_ids], dtype=np.int64)
    to_model = {int(b): m for m, b in enumerate(to_bundle.tolist()) if b >= 0}
    return _Loaded(version_id, model, to_model, to_bundle, bundle.version)


def _current(bundle: Bundle) -> _Loaded:
    version_id = storage.active_version_id(deep.KIND)
    loaded = _loaded[0]
    if loaded is not None and loaded.version == version_id and loaded.bundle_version == bundle.version:
        return loaded
    with _lock:
        try:
            loaded = _load(version_id, bundle)
        except Exception:  # a broken deep model must never take the slot down with it
            logger.exception("could not load deep model version %s", version_id)
            loaded = _Loaded(version_id, None, {}, np.empty(0, np.int64), bundle.version)
        _loaded[0] = loaded
    return loaded


def deep_scores(bundle: Bundle, facts: Facts) -> SourceScores | None:
    loaded = _current(bundle)
    if loaded.model is None or not facts.sequence.size:
        return None
    sequence = np.asarray([loaded.to_model[i] for i in facts.sequence.tolist() if i in loaded.to_model])
    if not sequence.size:
        return None
    model_scores = loaded.model.score_sequence(sequence)
    scores = np.zeros(bundle.n_items)
    known = loaded.to_bundle >= 0
    scores[loaded.to_bundle[known]] = model_scores[known]
    return SourceScores(scores, kind="session", default_evidence=(int(facts.sequence[-1]),))


def clear() -> None:
    with _lock:
        _loaded[0] = None
