"""Item-based collaborative filtering: top-K item neighbours, scored as ``history @ similarity``.

Similarities (rows of ``similarity`` are "from" items, columns are candidate items):

* ``cosine``: ``x_i . x_j / (|x_i| |x_j| + shrink)``;
* ``asymmetric`` (Aiolli 2013): ``x_i . x_j / (|x_i|^(2 alpha) |x_j|^(2 (1 - alpha)) + shrink)``;
  ``alpha = 0.5`` is cosine, a higher alpha favours candidates that are popular among the
  buyers of ``i`` (a conditional-probability flavour);
* ``bm25``: the dot product of BM25-weighted item columns (users are the "terms", so very active
  users count less), as in the ``implicit`` library's ``BM25Recommender``.

The item x item product is computed in row blocks whose size is chosen from the number of
user-pair multiplications they cost (so a block of popular items is small and a block of tail
items is large); each block is cut to its top K per row before the next one is computed, which
keeps peak memory at one block plus the K-sparse result.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, Self

import numpy as np
import scipy.sparse as sp

from ._sparse import (
    as_csr,
    assemble,
    column_norms,
    row_thresholds,
    safe_inverse,
    scale_columns,
    scale_rows,
    topk_per_row,
)

Similarity = Literal["cosine", "bm25", "asymmetric"]


def bm25_weight(interactions: sp.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """BM25-weight a users x items matrix: items are documents, users are terms (float32)."""
    matrix = as_csr(interactions, np.float64)
    n_items = matrix.shape[1]
    user_df = np.diff(matrix.indptr).astype(np.float64)
    idf = np.maximum(np.log(max(n_items, 1)) - np.log1p(user_df), 0.0)
    item_len = np.bincount(matrix.indices, weights=matrix.data, minlength=n_items)
    avg = item_len[item_len > 0].mean() if np.any(item_len > 0) else 1.0
    length_norm = (1.0 - b) + b * item_len / avg
    data = matrix.data
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    weighted = data * (k1 + 1.0) / (k1 * length_norm[matrix.indices] + data) * idf[rows]
    out = sp.csr_matrix((weighted, matrix.indices, matrix.indptr), shape=matrix.shape)
    return out.astype(np.float32)


def weigh(
    matrix: sp.csr_matrix,
    similarity: Similarity,
    alpha: float = 0.5,
    shrink: float = 0.0,
    bm25_k1: float = 1.2,
    bm25_b: float = 0.75,
) -> tuple[sp.csr_matrix, np.ndarray | None, np.ndarray | None]:
    """The matrix whose column dot products are needed and the row/column denominators: the one
    definition of item-kNN weighting, shared by :class:`ItemKNN` and the chunked build
    (:mod:`.similarity`).

    Returns ``(weighted, left, right)``; when ``left``/``right`` are None the columns were scaled
    up front and the dot products are already the similarities.
    """
    if similarity == "bm25":
        return bm25_weight(matrix, bm25_k1, bm25_b), None, None
    if similarity not in ("cosine", "asymmetric"):
        raise ValueError(f"unknown similarity {similarity!r}")
    norms = column_norms(matrix)
    if similarity == "cosine":
        left = right = norms
    else:
        left, right = norms ** (2 * alpha), norms ** (2 * (1 - alpha))
    if shrink == 0 and similarity == "cosine":
        return scale_columns(matrix, safe_inverse(norms)), None, None
    return matrix, left, right


def block_bounds(cost: np.ndarray, budget: float, max_rows: int) -> list[tuple[int, int]]:
    """Split ``0..len(cost)`` into consecutive blocks of total ``cost`` <= budget (>= 1 row each)."""
    bounds = []
    start, n = 0, len(cost)
    cumulative = np.concatenate([[0.0], np.cumsum(cost, dtype=np.float64)])
    while start < n:
        stop = int(np.searchsorted(cumulative, cumulative[start] + budget, side="right")) - 1
        stop = min(max(stop, start + 1), start + max_rows, n)
        bounds.append((start, stop))
        start = stop
    return bounds


class ItemKNN:
    """Top-K item neighbourhood model (a ``Recommender``)."""

    name = "itemknn"

    def __init__(
        self,
        k: int = 50,
        similarity: Similarity = "cosine",
        alpha: float = 0.5,
        shrink: float = 0.0,
        chunk_size: int = 2048,
        block_budget: float = 5e6,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        normalize: bool = False,
    ) -> None:
        if similarity not in ("cosine", "bm25", "asymmetric"):
            raise ValueError(f"unknown similarity {similarity!r}")
        self.k = k
        self.similarity_kind: Similarity = similarity
        self.alpha = alpha
        self.shrink = shrink
        self.chunk_size = chunk_size
        self.block_budget = block_budget
        self.bm25_k1, self.bm25_b = bm25_k1, bm25_b
        # rows of the kept neighbours scaled to sum 1: every history item then votes with the same
        # total weight, whatever its number of strong neighbours (irspack's and Dacrema et al.'s
        # ``normalize``, which their tuned item-kNN picks with a strong shrinkage)
        self.normalize = normalize
        self.similarity: sp.csr_matrix | None = None

    def _prepare(self, matrix: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray | None, np.ndarray | None]:
        return weigh(matrix, self.similarity_kind, self.alpha, self.shrink, self.bm25_k1, self.bm25_b)

    def fit(self, interactions: sp.csr_matrix) -> Self:
        self.similarity = self._similarity(as_csr(interactions))
        if self.normalize:
            sums = np.asarray(self.similarity.sum(axis=1), dtype=np.float64).ravel()
            self.similarity = scale_rows(self.similarity, safe_inverse(sums))
        return self

    def _similarity(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        n_items = matrix.shape[1]
        weighted, left, right = self._prepare(matrix)
        if left is right:  # a symmetric similarity: compute only the upper half of X^T X
            return self._fit_symmetric(weighted, left)
        item_users = weighted.T.tocsr()
        # cost of a row of the product: sum over its users of their item counts
        user_len = np.diff(weighted.indptr).astype(np.float64)
        cost = np.bincount(weighted.indices, weights=user_len[_row_ids(weighted)], minlength=n_items)

        def block_topk(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            start, stop = bounds
            block = item_users[start:stop] @ weighted
            if left is not None and right is not None:
                rows = np.repeat(np.arange(start, stop), np.diff(block.indptr))
                denominator = left[rows] * right[block.indices] + self.shrink
                block.data = (block.data * safe_inverse(denominator)).astype(np.float32)
            return topk_per_row(block, self.k, row_offset=start, drop_diagonal=True)

        blocks = block_bounds(cost, self.block_budget, self.chunk_size)
        # (tried: two threads overlapping one block's product with the previous block's selection;
        # no gain measured, scipy's sparse product holds the GIL for most of the time)
        parts = [block_topk(b) for b in blocks]
        return assemble(parts, (n_items, n_items))

    def _fit_symmetric(self, weighted: sp.csr_matrix, norms: np.ndarray | None) -> sp.csr_matrix:
        """Top-K of a symmetric ``S = X^T X / (n_i n_j + shrink)`` from its upper half only.

        Items are renumbered by ascending popularity and cut into row blocks; block ``[s, e)``
        computes ``S[s:e, s:]`` (its own square tile in full), about half the multiplications of
        the full product. Each row keeps its entries at or above its (K+1)-th largest (ties
        included): its candidates right of ``s``. Its part left of ``s`` is the transpose of
        earlier blocks, so an entry ``S[i, j]`` right of the block is also passed on to row
        ``j`` when it reaches ``tau_j``, row ``j``'s own threshold over its upper part (a lower
        bound of its final K-th largest, so nothing that can win is lost). Blocks therefore
        need the thresholds of every later block before filtering; they run last to first on a
        small thread pool (scipy's product and most numpy passes release the GIL). One exact
        ``topk_per_row`` over all candidates, in original ids with ties by column, gives what
        the full product would.
        """
        n_items = weighted.shape[1]
        degree = np.bincount(weighted.indices, minlength=n_items)
        perm = np.argsort(degree, kind="stable")  # new id -> original id
        rank = np.empty_like(perm)
        rank[perm] = np.arange(n_items)
        ranked = sp.csr_matrix(
            (weighted.data.copy(), rank[weighted.indices], weighted.indptr.copy()), shape=weighted.shape
        )
        ranked.sort_indices()
        by_item = ranked.tocsc()
        # cost of row i's upper part: for every user of i, the user's items at or after i
        lengths = np.diff(ranked.indptr)
        position = np.arange(ranked.nnz) - np.repeat(ranked.indptr[:-1], lengths)
        remaining = (np.repeat(lengths, lengths) - position).astype(np.float64)
        cost = np.bincount(ranked.indices, weights=remaining, minlength=n_items)
        blocks = block_bounds(cost, self.block_budget, self.chunk_size)
        upper = _UpperBlocks(by_item, self.k + 1, None if norms is None else norms[perm], self.shrink)
        threads = _threads_for(float(cost.sum()), len(blocks))
        order = list(reversed(range(len(blocks))))
        done = [threading.Event() for _ in blocks]

        def run(index: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
            try:
                start, stop = blocks[index]
                block = upper.product(start, stop)
                own = upper.own_rows(block, start, stop)
            finally:
                done[index].set()
            for later in range(index + 1, len(blocks)):
                done[later].wait()
            return [own, upper.passed_on(block, start, stop)]

        if threads > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(run, order))
        else:
            results = [run(index) for index in order]
        parts = [part for result in results for part in result]
        rows, cols, vals = (np.concatenate(p) for p in zip(*parts, strict=True))
        candidates = sp.csr_matrix(
            (vals, (perm[rows], perm[cols])), shape=(n_items, n_items), dtype=np.float32
        )
        return assemble([topk_per_row(candidates, self.k, drop_diagonal=True)], (n_items, n_items))

    def _fitted(self) -> sp.csr_matrix:
        if self.similarity is None:
            raise RuntimeError("call fit() first")
        return self.similarity

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        """Dense scores (rows x items): each history item votes for its neighbours."""
        return np.asarray((as_csr(history) @ self._fitted()).toarray(), dtype=np.float32)

    def score_sparse(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """:meth:`score` before it is made dense (``score_sparse(h).toarray() == score(h)``): a
        row holds only its history's neighbours, a few thousand of the catalogue's items."""
        scores = as_csr(history) @ self._fitted()
        return sp.csr_matrix(scores, dtype=np.float32)

    def neighbours(self, item_idx: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` most similar items to ``item_idx`` (indices, scores), best first."""
        similarity = self._fitted()
        lo, hi = similarity.indptr[item_idx], similarity.indptr[item_idx + 1]
        cols, vals = similarity.indices[lo:hi], similarity.data[lo:hi]
        order = np.lexsort((cols, -vals))[:n]
        return cols[order].astype(np.int64), vals[order]


#: item-kNN runs its blocks on up to this many threads (never more than the usable cores) once
#: the product costs at least ``THREADED_MIN_COST`` multiplications.
MAX_THREADS = 4
THREADED_MIN_COST = 2e6


def _threads_for(cost: float, n_blocks: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if cost < THREADED_MIN_COST:
        return 1
    return max(1, min(cores, MAX_THREADS, n_blocks))


class _UpperBlocks:
    """The per-block work of :meth:`ItemKNN._fit_symmetric` (items already renumbered).

    ``tau`` is shared between threads: a block writes its own rows' slice, and reads only the
    slices of later blocks, after their threads signalled that they wrote them.
    """

    #: a block at least this dense is selected on a dense array (no per-entry index arrays);
    #: at 0.35 the dense partition was 6x slower than the sparse one (zeros slow introselect)
    DENSE_FROM = 0.5

    def __init__(self, by_item: sp.csc_matrix, take: int, norms: np.ndarray | None, shrink: float) -> None:
        n_users, n_items = by_item.shape
        self.by_item = by_item
        self.item_users = sp.csr_matrix(
            (by_item.data, by_item.indices, by_item.indptr), shape=(n_items, n_users)
        )
        self.take = take
        self.norms, self.shrink = norms, shrink
        self.tau = np.full(n_items, -np.inf, dtype=np.float32)

    def product(self, start: int, stop: int) -> sp.csr_matrix | np.ndarray:
        """``S[start:stop, start:]``, dense when dense enough; column ``c`` is item ``start + c``."""
        block = self.item_users[start:stop] @ self.by_item[:, start:].tocsr()
        if self.norms is not None:
            rows = np.repeat(np.arange(start, stop), np.diff(block.indptr))
            denominator = self.norms[rows] * self.norms[start + block.indices] + self.shrink
            block.data = (block.data * safe_inverse(denominator)).astype(np.float32)
        if block.nnz >= self.DENSE_FROM * block.shape[0] * block.shape[1]:
            return block.toarray()
        return block

    def own_rows(self, block: sp.csr_matrix | np.ndarray, start: int, stop: int) -> _Triples:
        """Each row's entries at or above its (K+1)-th largest; records the thresholds."""
        if isinstance(block, np.ndarray):
            width = block.shape[1]
            if width > self.take:
                threshold = np.partition(block, width - self.take, axis=1)[:, width - self.take]
                threshold = np.maximum(threshold, _SMALLEST)  # padding zeros are not entries
            else:
                threshold = np.full(block.shape[0], _SMALLEST, dtype=np.float32)
            self.tau[start:stop] = threshold
            rows, cols = np.nonzero(block >= threshold[:, None])
            return rows + start, cols + start, block[rows, cols]
        threshold = row_thresholds(block, self.take)
        self.tau[start:stop] = threshold
        lengths = np.diff(block.indptr)
        kept = np.flatnonzero(block.data >= np.repeat(threshold, lengths))
        rows = np.searchsorted(block.indptr, kept, side="right") - 1
        return rows + start, block.indices[kept] + start, block.data[kept]

    def passed_on(self, block: sp.csr_matrix | np.ndarray, start: int, stop: int) -> _Triples:
        """Entries right of the block that reach their column's row threshold, transposed."""
        own = stop - start
        if isinstance(block, np.ndarray):
            right = block[:, own:]
            rows, cols = np.nonzero(right >= self.tau[None, stop:])
            return cols + stop, rows + start, right[rows, cols]
        bar = np.concatenate([np.full(own, np.inf, dtype=np.float32), self.tau[stop:]])
        passed = np.flatnonzero(block.data >= bar[block.indices])
        rows = np.searchsorted(block.indptr, passed, side="right") - 1
        return block.indices[passed] + start, rows + start, block.data[passed]


_Triples = tuple[np.ndarray, np.ndarray, np.ndarray]
_SMALLEST = np.nextafter(np.float32(0), np.float32(1))  # only positive similarities are kept


def _row_ids(matrix: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
