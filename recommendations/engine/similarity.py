"""Item-item neighbour lists, computed a block of items at a time so chunks can run anywhere.

:func:`knn_block` gives exactly the rows ``start..stop`` of ``ItemKNN(...).fit(matrix).similarity``
(same weighting, same top-K with ties broken by column), so a similarity built by many chunk tasks
equals a single-process build. Content and EASE neighbours are cut to the same top-K form, which
keeps every item-item source O(history x K) at serving time.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommendations.engine import backends
from recommendations.engine._sparse import assemble, safe_inverse
from recommendations.engine._sparse import topk_per_row as _engine_topk
from recommendations.engine.content_knn import content_neighbours_bounded
from recommendations.engine.itemknn import weigh

Triples = tuple[np.ndarray, np.ndarray, np.ndarray]


def topk_per_row(matrix: sp.csr_matrix, k: int, row_offset: int = 0, drop_diagonal: bool = False) -> Triples:
    """The engine's ``topk_per_row``, safe for blocks whose last rows are empty.

    (The engine helper's ``np.add.reduceat`` rejects a row start equal to ``nnz``; trailing empty
    rows contribute nothing, so they are cut off first.)
    """
    filled = np.flatnonzero(np.diff(matrix.indptr))
    if not filled.size:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), np.empty(0, dtype=matrix.dtype)
    return _engine_topk(matrix[: int(filled[-1]) + 1], k, row_offset=row_offset, drop_diagonal=drop_diagonal)


def prepare(
    matrix: sp.csr_matrix, similarity: str, alpha: float = 0.5, shrink: float = 0.0
) -> tuple[sp.csr_matrix, np.ndarray | None, np.ndarray | None]:
    """The weighted users x items matrix and the left/right denominators (None: pre-scaled),
    exactly as :class:`~recommendations.engine.itemknn.ItemKNN` weighs it."""
    return weigh(sp.csr_matrix(matrix, dtype=np.float32), similarity, alpha, shrink)  # type: ignore[arg-type]


def knn_block(
    weighted: sp.csr_matrix,
    left: np.ndarray | None,
    right: np.ndarray | None,
    start: int,
    stop: int,
    k: int,
    shrink: float = 0.0,
    backend: str = "numpy",
) -> Triples:
    """Top-``k`` neighbours (rows, cols, values) of items ``start..stop``, self excluded.

    With ``backend="implicit"`` a block spanning every item of a pre-scaled matrix (no
    denominators) is computed by the ``implicit`` library (:func:`.backends.knn_triples`); any
    other block is ours.
    """
    if backend == "implicit" and left is None and right is None and (start, stop) == (0, weighted.shape[1]):
        return backends.knn_triples(weighted, k)
    item_users = weighted[:, start:stop].T.tocsr()
    block = (item_users @ weighted).tocsr()
    block.sort_indices()
    if left is not None and right is not None:
        rows = np.repeat(np.arange(start, stop), np.diff(block.indptr))
        block.data = (block.data * safe_inverse(left[rows] * right[block.indices] + shrink)).astype(
            np.float32
        )
    return topk_per_row(block, k, row_offset=start, drop_diagonal=True)


def chunk_bounds(n_items: int, chunk_items: int) -> list[tuple[int, int]]:
    step = max(int(chunk_items), 1)
    return [(start, min(start + step, n_items)) for start in range(0, n_items, step)]


def assemble_triples(parts: list[Triples], n_items: int) -> sp.csr_matrix:
    return assemble(parts, (n_items, n_items))


def topk_dense(matrix: np.ndarray, k: int, block_rows: int = 512) -> sp.csr_matrix:
    """Keep the ``k`` largest positive entries of each row of a dense square matrix (diagonal dropped)."""
    n = matrix.shape[0]
    parts = []
    for start in range(0, n, block_rows):
        block = sp.csr_matrix(np.maximum(matrix[start : start + block_rows], 0.0), dtype=np.float32)
        parts.append(topk_per_row(block, k, row_offset=start, drop_diagonal=True))
    return assemble(parts, (n, matrix.shape[1]))


#: up to this many items content neighbours are exact (every pair scored: n^2, 2.5 s at 5,000 items);
#: above it they come from rare-feature candidates (:mod:`.content_knn`: linear in the catalogue)
CONTENT_EXACT_MAX_ITEMS = 5000


def content_neighbours(
    vectors: sp.csr_matrix, k: int, block_rows: int = 512, exact_max_items: int = CONTENT_EXACT_MAX_ITEMS
) -> sp.csr_matrix:
    """Top-``k`` cosine neighbours from L2-normalised item vectors: exact (one block of rows at a
    time) up to ``exact_max_items`` items, bounded candidates above."""
    if vectors.shape[0] > exact_max_items:
        return content_neighbours_bounded(vectors, k)
    vectors = sp.csr_matrix(vectors, dtype=np.float32)
    transposed = vectors.T.tocsc()
    n = vectors.shape[0]
    parts = []
    for start in range(0, n, block_rows):
        block = (vectors[start : start + block_rows] @ transposed).tocsr()
        block.sort_indices()
        parts.append(topk_per_row(block, k, row_offset=start, drop_diagonal=True))
    return assemble(parts, (n, n))


def csr_arrays(matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    matrix = sp.csr_matrix(matrix)
    return {  # (no copy of an array already of its type: a 1M-item neighbour matrix is ~400 MB)
        "indptr": matrix.indptr.astype(np.int64, copy=False),
        "indices": matrix.indices.astype(np.int32, copy=False),
        "data": matrix.data.astype(np.float32, copy=False),
        "shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def csr_from(arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays["shape"])
    return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
