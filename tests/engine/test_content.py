import numpy as np
import pytest
from numpy.testing import assert_allclose

from recommendations.engine.content import ContentModel, tokenize

TEXTS = [
    "Red running shoes for trail running",
    "Blue running shoes, lightweight",
    "Espresso coffee beans dark roast",
    "Decaf coffee beans medium roast",
    "Leather wallet",
    "",
]
CATEGORIES = [
    ["shoes", "shoes/running"],
    ["shoes", "shoes/running"],
    ["food", "food/coffee"],
    ["food", "food/coffee"],
    ["accessories"],
    ["shoes", "shoes/running"],
]
BRANDS = ["Acme", "Zoom", "Bean Co", "Bean Co", None, "Zoom"]
PRICES = [90.0, 85.0, 12.0, 11.0, 40.0, None]


def fitted(**kwargs):
    return ContentModel(**kwargs).fit(TEXTS, CATEGORIES, BRANDS, PRICES)


def test_vectors_are_unit_length():
    model = fitted()
    norms = np.sqrt(np.asarray(model.vectors.multiply(model.vectors).sum(axis=1)).ravel())
    assert_allclose(norms, 1.0, rtol=1e-5)


def test_similar_items_share_text_and_category():
    model = fitted()
    idx, scores = model.similar(0, 3)
    assert idx[0] == 1
    assert 0 not in idx
    assert np.all(np.diff(scores) <= 0)
    idx, _ = model.similar(2, 1)
    assert idx[0] == 3


def test_new_item_without_text_is_served_by_category_and_brand():
    model = fitted()
    idx, scores = model.similar(5, 2)
    assert set(idx.tolist()) == {0, 1}
    assert scores[0] > 0
    assert idx[0] == 1  # same brand as item 1


def test_score_profile_is_cosine_of_weighted_sum():
    model = fitted()
    v = model.vectors.toarray().astype(np.float64)
    profile = 2.0 * v[2] + 1.0 * v[0]
    expected = v @ profile / np.linalg.norm(profile)
    assert_allclose(model.score_profile([2, 0], [2.0, 1.0]), expected, rtol=1e-5)
    scores = model.score_profile([2, 3])
    assert scores[2] > scores[0]
    assert scores[3] > scores[4]
    assert_allclose(model.score_profile([]), 0)


def test_tfidf_by_hand():
    model = ContentModel(text_weight=1.0, category_weight=0.0, brand_weight=0.0, price_weight=0.0)
    model.fit(["aa bb bb", "aa cc"])
    # idf: aa in both -> ln(3/3)+1 = 1; bb, cc in one -> ln(3/2)+1; tf(bb)=1+ln 2
    idf = np.log(1.5) + 1
    row0 = np.zeros(len(model.vocabulary))
    row0[model.vocabulary["aa"]] = 1.0
    row0[model.vocabulary["bb"]] = (1 + np.log(2)) * idf
    assert_allclose(model.vectors.toarray()[0, :3], row0 / np.linalg.norm(row0), rtol=1e-5)


def test_max_features_keeps_most_frequent_terms():
    model = ContentModel(max_features=2).fit(TEXTS)
    # running, shoes, coffee, beans, roast all occur in two items: ties break alphabetically
    assert set(model.vocabulary) == {"beans", "coffee"}
    assert ContentModel(max_features=2, min_df=3).fit(TEXTS).vocabulary == {}


def test_price_bands_make_similar_prices_closer():
    model = ContentModel(text_weight=0, category_weight=0, brand_weight=0, price_weight=1.0, n_price_bands=3)
    model.fit(["x"] * 6, prices=[1, 2, 50, 55, 100, 110])
    v = model.vectors.toarray()
    assert v[0] @ v[1] > v[0] @ v[2] > v[0] @ v[4]


def test_tokenize_and_length_check():
    assert tokenize("Café-au-lait, 2 Cups!") == ["café", "au", "lait", "cups"]
    with pytest.raises(ValueError):
        ContentModel().fit(["a", "b"], categories=[["x"]])


def test_vocabulary_and_counts_match_a_counter_reference():
    from collections import Counter

    rng = np.random.default_rng(4)
    words = ["ab", "Cd", "éf", "gh", "ij", "kl"]
    texts = [" ".join(rng.choice(words, rng.integers(0, 7))) for _ in range(40)]
    model = ContentModel(max_features=4, min_df=2, category_weight=0, brand_weight=0, price_weight=0)
    model.fit(texts)
    docs = [Counter(tokenize(t)) for t in texts]
    df = Counter(term for doc in docs for term in doc)
    ranked = sorted((term for term in df if df[term] >= 2), key=lambda t: (-df[t], t))[:4]
    assert model.vocabulary == {term: i for i, term in enumerate(ranked)}
    idf = np.log(41 / (1 + np.array([df[t] for t in ranked]))) + 1
    tf = np.array([[1 + np.log(doc[t]) if doc[t] else 0.0 for t in ranked] for doc in docs])
    expected = tf * idf
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    expected = np.divide(expected, norms, out=np.zeros_like(expected), where=norms > 0)
    assert_allclose(model.vectors.toarray()[:, :4], expected, rtol=1e-5, atol=1e-7)


def test_one_hot_counts_a_repeated_label_once_and_keeps_first_appearance_order():
    block = ContentModel._one_hot([["b", "a", "b"], [], ["c", "a"]]).toarray()
    assert_allclose(block, [[1, 1, 0], [0, 0, 0], [0, 1, 1]])
