"""Content-based item vectors: TF-IDF text + category path + brand + price band.

Serves the cold start: a new item has a vector the moment it is in the catalogue, and a new
shopper gets a profile from the first item viewed. Each block is L2-normalised, scaled by its
weight and the concatenation L2-normalised again, so cosine similarity is a dot product.

* text: lower-cased word tokens (unicode ``\\w{2,}``), vocabulary = the ``max_features`` terms with
  the highest document frequency among those in at least ``min_df`` items, sublinear tf
  ``1 + ln(count)`` and smoothed idf ``ln((1 + n) / (1 + df)) + 1`` (as scikit-learn's default);
* category: one-hot over every node of the item's path (parents included), so two items in
  sibling leaves still share their parent;
* brand: one-hot;
* price: ``n_price_bands`` quantile bands over the catalogue's prices, one-hot with half weight on
  the neighbouring bands so that "a bit cheaper" is still similar.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from itertools import chain
from typing import Self

import numpy as np
import scipy.sparse as sp

from ._sparse import row_norms, safe_inverse, scale_rows

TOKEN = re.compile(r"\w{2,}", re.UNICODE)


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def _normalise(block: sp.csr_matrix, weight: float) -> sp.csr_matrix:
    return scale_rows(block, safe_inverse(row_norms(block)) * weight)


class ContentModel:
    """Item vectors from catalogue attributes; similarity and profile scoring by cosine."""

    name = "content"

    def __init__(
        self,
        max_features: int = 20_000,
        min_df: int = 1,
        n_price_bands: int = 5,
        text_weight: float = 1.0,
        category_weight: float = 0.8,
        brand_weight: float = 0.5,
        price_weight: float = 0.3,
    ) -> None:
        self.max_features = max_features
        self.min_df = min_df
        self.n_price_bands = n_price_bands
        self.weights = (text_weight, category_weight, brand_weight, price_weight)
        self.vocabulary: dict[str, int] = {}
        self.vectors: sp.csr_matrix | None = None

    def _text(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Sublinear-tf x smoothed-idf matrix; counting is vectorised (no per-term Python loop).

        Every token of the corpus gets a term id (ids in alphabetical order), every (document,
        term) pair a count from one ``np.unique``; the vocabulary keeps the highest document
        frequencies, ties alphabetical (a stable sort of the ids).
        """
        # term ids by first appearance, one document at a time (no list of every token string and
        # no fixed-width array of them: ~100 bytes a token at 1M products), then renumbered in
        # alphabetical (code point) order, as np.unique of the token strings numbered them
        seen: dict[str, int] = {}
        first_ids, lengths = array("q"), array("q")
        for text in texts:
            tokens = tokenize(text or "")
            lengths.append(len(tokens))
            first_ids.extend([seen.setdefault(token, len(seen)) for token in tokens])
        n = len(lengths)
        n_tokens = np.frombuffer(lengths, dtype=np.int64) if n else np.zeros(0, np.int64)
        if not len(first_ids):
            self.vocabulary = {}
            return sp.csr_matrix((n, 0), dtype=np.float64)
        by_first = list(seen)
        alphabetical = sorted(range(len(by_first)), key=by_first.__getitem__)
        rank = np.empty(len(by_first), dtype=np.int64)
        rank[alphabetical] = np.arange(len(by_first))
        terms = [by_first[i] for i in alphabetical]
        term_ids = rank[np.frombuffer(first_ids, dtype=np.int64)]
        docs = np.repeat(np.arange(n, dtype=np.int64), n_tokens)
        pairs, counts = np.unique(docs * len(terms) + term_ids, return_counts=True)
        pair_docs, pair_terms = np.divmod(pairs, len(terms))
        df = np.bincount(pair_terms, minlength=len(terms))
        eligible = np.flatnonzero(df >= self.min_df)
        chosen = eligible[np.argsort(-df[eligible], kind="stable")][: self.max_features]
        column = np.full(len(terms), -1, dtype=np.int64)
        column[chosen] = np.arange(len(chosen))
        self.vocabulary = {terms[t]: i for i, t in enumerate(chosen.tolist())}
        keep = column[pair_terms] >= 0
        tf = sp.csr_matrix(
            (1.0 + np.log(counts[keep]), (pair_docs[keep], column[pair_terms[keep]])),
            shape=(n, len(chosen)),
            dtype=np.float64,
        )
        idf = np.log((1.0 + n) / (1.0 + df[chosen])) + 1.0
        return sp.csr_matrix(tf @ sp.diags(idf))

    @staticmethod
    def _one_hot(labels: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """One column per distinct label (in order of first appearance), 1 where an item has it."""
        n = len(labels)
        per_item = np.fromiter(map(len, labels), dtype=np.int64, count=n)
        if not per_item.sum():
            return sp.csr_matrix((n, 1), dtype=np.float64)
        flat = np.array(list(chain.from_iterable(labels)))
        _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
        column = np.empty(len(first), dtype=np.int64)
        column[np.argsort(first, kind="stable")] = np.arange(len(first))
        cells = np.unique(np.repeat(np.arange(n, dtype=np.int64), per_item) * len(first) + column[inverse])
        rows, cols = np.divmod(cells, len(first))
        return sp.csr_matrix((np.ones(len(cells)), (rows, cols)), shape=(n, len(first)))

    def _price(self, prices: Sequence[float | None]) -> sp.csr_matrix:
        values = np.array([np.nan if p is None else float(p) for p in prices], dtype=np.float64)
        known = ~np.isnan(values)
        bands = self.n_price_bands
        out = np.zeros((len(values), bands))
        if known.sum() >= 2 and bands > 1:
            edges = np.quantile(values[known], np.linspace(0, 1, bands + 1)[1:-1])
            band = np.searchsorted(edges, values[known], side="right")
            rows = np.flatnonzero(known)
            out[rows, band] = 1.0
            out[rows[band > 0], band[band > 0] - 1] = 0.5
            out[rows[band < bands - 1], band[band < bands - 1] + 1] = 0.5
        return sp.csr_matrix(out)

    def fit(
        self,
        texts: Sequence[str],
        categories: Sequence[Sequence[str]] | None = None,
        brands: Sequence[str | None] | None = None,
        prices: Sequence[float | None] | None = None,
    ) -> Self:
        """Build one vector per item (row order = the order of ``texts``)."""
        n = len(texts)
        categories = categories if categories is not None else [[] for _ in range(n)]
        brands = brands if brands is not None else [None] * n
        prices = prices if prices is not None else [None] * n
        if not (len(categories) == len(brands) == len(prices) == n):
            raise ValueError("texts, categories, brands and prices must have the same length")
        brand_labels = [[] if b is None or b == "" else [str(b)] for b in brands]
        blocks = [
            self._text(texts),
            self._one_hot([[str(c) for c in path] for path in categories]),
            self._one_hot(brand_labels),
            self._price(prices),
        ]
        stacked = sp.hstack(
            [_normalise(sp.csr_matrix(b), w) for b, w in zip(blocks, self.weights, strict=True)],
            format="csr",
        )
        self.vectors = _normalise(stacked, 1.0).astype(np.float32)
        return self

    def _fitted(self) -> sp.csr_matrix:
        if self.vectors is None:
            raise RuntimeError("call fit() first")
        return self.vectors

    def similar(self, item_idx: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` items most similar to ``item_idx`` (indices, cosine), best first, self excluded."""
        vectors = self._fitted()
        scores = np.asarray((vectors @ vectors[item_idx].T).toarray()).ravel()
        scores[item_idx] = -np.inf
        return _best(scores, n)

    def score_profile(
        self, item_indices: Sequence[int] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None
    ) -> np.ndarray:
        """Cosine of every item with the interest vector ``sum_i w_i v_i`` (zeros if empty)."""
        vectors = self._fitted()
        items = np.asarray(item_indices, dtype=np.int64)
        w = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=np.float64)
        if items.size == 0:
            return np.zeros(vectors.shape[0], dtype=np.float32)
        profile = sp.csr_matrix((w, (np.zeros_like(items), items)), shape=(1, vectors.shape[0])) @ vectors
        norm = np.sqrt(profile.multiply(profile).sum())
        if norm == 0:
            return np.zeros(vectors.shape[0], dtype=np.float32)
        return (np.asarray((vectors @ profile.T).toarray()).ravel() / norm).astype(np.float32)


def _best(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    from .base import top_k

    idx = top_k(scores, n)
    idx = idx[scores[idx] > 0]
    return idx, scores[idx].astype(np.float32)
