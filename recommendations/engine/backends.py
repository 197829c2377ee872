"""Which code fits item-kNN and ALS: ours (numpy/scipy, always there) or the ``implicit`` library.

``implicit`` (an optional extra: ``pip install django-realtime-recommendations[implicit]``) fits
the same two models in compiled, multi-threaded code. Measured in one process on the 1M-event
benchmark shop (``bench/fits.py``, see docs/benchmarks.md) it is faster than ours at equal
quality, so ``"auto"`` picks it when it can be imported; ``"numpy"`` never imports it.

The answers are the ones our models give, in our models' shapes:

* item-kNN: the top-K dot products of the already weighted users x items matrix (cosine
  columns scaled to unit length, or BM25-weighted), self excluded, ties at the K-th place
  broken by column as :func:`~recommendations.engine._sparse.topk_per_row` does (implicit may
  keep another of the tied items). implicit's ``all_pairs_knn`` computes the dot products; we
  ask it for K + 1 per row and drop the item itself.
  Similarities with per-pair denominators (a shrink term, the asymmetric cosine) stay on numpy.
* ALS: the same objective (confidence ``1 + alpha * r``, preference 1 on observed cells) with
  implicit's conjugate-gradient solver and the same number of CG steps; the factors are handed
  to an :class:`~recommendations.engine.als.ALS` so scoring and fold-in are unchanged. Per-row
  regularisation (``frequency_scaling``) is ours only.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Literal

import numpy as np
import scipy.sparse as sp

from ._sparse import as_csr, assemble, single_threaded_blas
from .als import ALS

Backend = Literal["auto", "numpy", "implicit"]
BACKENDS: tuple[str, ...] = ("auto", "numpy", "implicit")
Triples = tuple[np.ndarray, np.ndarray, np.ndarray]


class BackendUnavailable(ImportError):
    """The ``implicit`` backend was asked for by name but the library cannot be imported."""


@cache
def implicit_available() -> bool:
    """True when ``implicit``'s CPU code can be imported (cached for the process)."""
    try:
        importlib.import_module("implicit.cpu.als")
        importlib.import_module("implicit.nearest_neighbours")
    except ImportError:
        return False
    return True


def resolve(backend: str) -> Literal["numpy", "implicit"]:
    """``"auto"`` -> implicit when importable, else numpy; ``"implicit"`` fails loudly without it."""
    if backend == "numpy":
        return "numpy"
    if backend == "auto":
        return "implicit" if implicit_available() else "numpy"
    if backend == "implicit":
        if not implicit_available():
            raise BackendUnavailable(
                "the 'implicit' engine backend needs the implicit package "
                "(pip install django-realtime-recommendations[implicit]); or use 'auto' or 'numpy'"
            )
        return "implicit"
    raise ValueError(f"unknown engine backend {backend!r}; expected one of {BACKENDS}")


def knn_triples(weighted: sp.csr_matrix, k: int, threads: int = 0) -> Triples:
    """Top-``k`` entries of every row of ``weighted.T @ weighted`` (self excluded), via implicit.

    ``weighted`` is users x items; the result is ``(rows, cols, values)`` over items, values
    float32: the selection ``_sparse.topk_per_row`` makes on the full product, up to rounding in
    the last bits (implicit accumulates in its own order) and the choice among items tied at
    the K-th place (implicit's heap keeps any of them, ours the lowest columns).
    """
    from implicit.nearest_neighbours import all_pairs_knn

    matrix = as_csr(weighted, np.float64)  # the dtype its C++ code takes
    # K + 1 so that the item itself (the largest entry of a cosine row) can be dropped
    full = all_pairs_knn(matrix, k + 1, show_progress=False, num_threads=threads)
    rows, cols = full.row.astype(np.int64), full.col.astype(np.int64)
    vals = full.data.astype(np.float32)
    keep = (rows != cols) & (vals > 0)
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    # a row whose own item was not among its K + 1 (an exact tie at the top) has one too many
    over = np.flatnonzero((np.bincount(rows, minlength=matrix.shape[1]) > k)[rows])
    if over.size:
        order = over[np.lexsort((cols[over], -vals[over], rows[over]))]
        ranked = rows[order]
        rank = np.arange(len(order)) - np.searchsorted(ranked, ranked)
        drop = np.zeros(len(rows), dtype=bool)
        drop[order[rank >= k]] = True
        rows, cols, vals = rows[~drop], cols[~drop], vals[~drop]
    return rows, cols, vals


def itemknn_similarity(weighted: sp.csr_matrix, k: int, threads: int = 0) -> sp.csr_matrix:
    """:func:`knn_triples` as an items x items CSR matrix (what ``ItemKNN.similarity`` holds)."""
    n_items = weighted.shape[1]
    return assemble([knn_triples(weighted, k, threads)], (n_items, n_items))


def fit_als(model: ALS, interactions: sp.csr_matrix, backend: str = "auto") -> ALS:
    """Fit ``model`` (its hyper-parameters) on ``interactions`` with the chosen backend.

    implicit has one lambda for every row, so a model with per-row regularisation
    (``frequency_scaling``) is always fitted by our code.
    """
    if resolve(backend) == "numpy" or model.frequency_scaling:
        return model.fit(interactions)
    from implicit.cpu.als import AlternatingLeastSquares

    confidence = as_csr(interactions, np.float32)
    # implicit reads a stored value as the confidence c itself; ours is c = 1 + alpha * r
    confidence.data = (1.0 + model.alpha * confidence.data).astype(np.float32)
    with single_threaded_blas():  # implicit's own advice for its CPU solver
        theirs = AlternatingLeastSquares(
            factors=model.factors,
            regularization=model.regularization,
            alpha=1.0,
            iterations=model.iterations,
            use_cg=True,
            calculate_training_loss=False,
            num_threads=model.threads,
            random_state=model.seed,
            dtype=np.float32,
        )
        theirs.cg_steps = model.cg_steps
        theirs.fit(confidence, show_progress=False)
    return model.adopt(
        np.asarray(theirs.user_factors).astype(model.dtype, copy=False),
        np.asarray(theirs.item_factors).astype(model.dtype, copy=False),
    )
