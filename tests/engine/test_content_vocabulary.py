"""The TF-IDF block counts tokens one document at a time (no array of every token string) and
gives exactly the matrix and vocabulary of the ``np.unique``-over-token-strings version it replaced."""

from __future__ import annotations

from itertools import chain

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.content import ContentModel, tokenize


def _reference(model: ContentModel, texts: list[str]) -> tuple[sp.csr_matrix, dict[str, int]]:
    per_doc = [tokenize(t or "") for t in texts]
    n = len(per_doc)
    n_tokens = np.fromiter(map(len, per_doc), dtype=np.int64, count=n)
    terms, term_ids = np.unique(np.array(list(chain.from_iterable(per_doc))), return_inverse=True)
    docs = np.repeat(np.arange(n, dtype=np.int64), n_tokens)
    pairs, counts = np.unique(docs * len(terms) + term_ids, return_counts=True)
    pair_docs, pair_terms = np.divmod(pairs, len(terms))
    df = np.bincount(pair_terms, minlength=len(terms))
    eligible = np.flatnonzero(df >= model.min_df)
    chosen = eligible[np.argsort(-df[eligible], kind="stable")][: model.max_features]
    column = np.full(len(terms), -1, dtype=np.int64)
    column[chosen] = np.arange(len(chosen))
    keep = column[pair_terms] >= 0
    tf = sp.csr_matrix(
        (1.0 + np.log(counts[keep]), (pair_docs[keep], column[pair_terms[keep]])),
        shape=(n, len(chosen)),
    )
    idf = np.log((1.0 + n) / (1.0 + df[chosen])) + 1.0
    return sp.csr_matrix(tf @ sp.diags(idf)), {str(t): i for i, t in enumerate(terms[chosen])}


WORDS = ["tent", "Tent", "zelt", "élan", "Zebra", "über", "日本", "ab", "a1", "_x", "tent2", "ÿy", "Ωmega"]


@pytest.mark.parametrize(("max_features", "min_df"), [(20_000, 1), (5, 1), (7, 2)])
def test_the_text_block_equals_the_token_string_version(max_features, min_df):
    rng = np.random.default_rng(4)
    texts = [" ".join(rng.choice(WORDS, rng.integers(0, 9))) for _ in range(300)] + ["", "a b c"]
    model = ContentModel(max_features=max_features, min_df=min_df)
    got = model._text(texts)
    expected, vocabulary = _reference(model, texts)
    assert model.vocabulary == vocabulary
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.toarray(), expected.toarray())


def test_no_tokens_at_all():
    model = ContentModel()
    assert model._text(["", "a", "!"]).shape == (3, 0) and model.vocabulary == {}
