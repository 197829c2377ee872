"""Model parts of any size: stored as bounded chunk rows (here a few hundred bytes each, so every
part of a rebuild spans many), replaced whole by a retry, rolled back whole by a failure, deleted
with their version, and the single-row parts of versions stored before chunks still load."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.db.models.functions import Length

from recommendations import modelstore as storage
from recommendations.engine import strings
from recommendations.models import ModelPart, ModelPartChunk, ModelVersion
from recommendations.serving import bundle as bundles
from recommendations.serving import recommend
from recommendations.subjects import Subject
from recommendations.training import pipeline as training

pytestmark = pytest.mark.django_db

CHUNK = 300


@pytest.fixture(autouse=True)
def _small_chunks(settings):
    settings.RECOMMENDATIONS_MODEL_PART_CHUNK_BYTES = CHUNK


def _arrays(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n)
    return {
        "floats": rng.random(n).astype(np.float32),
        "ints": rng.integers(0, 10**12, (n, 3)),
        "text": np.asarray([f"item {i} ünïcode" for i in range(n)]),
        "utf8": np.frombuffer("naïve ☕ text".encode() * n, dtype=np.uint8),
        "flag": np.asarray(True),
        "fortran": np.asfortranarray(rng.random((n, 4))),
    }


def _assert_same(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        assert got[name].dtype == value.dtype, name
        np.testing.assert_array_equal(got[name], value)


def test_a_part_spans_bounded_chunks_and_loads_equal():
    version = storage.create_version().pk
    arrays = _arrays(500)
    size = storage.save_part(version, "big", arrays)
    part = ModelPart.objects.get(version_id=version, name="big")
    chunks = ModelPartChunk.objects.filter(part=part).annotate(n=Length("data"))
    lengths = list(chunks.order_by("index").values_list("n", flat=True))
    assert len(lengths) == -(-size // CHUNK) > 10
    assert max(lengths) == CHUNK and sum(lengths) == size == part.size_bytes
    assert list(chunks.order_by("index").values_list("index", flat=True)) == list(range(len(lengths)))
    assert bytes(part.data) == b""
    _assert_same(storage.load_parts(version, ["big"])["big"], arrays)


def test_a_retried_part_replaces_its_chunks():
    version = storage.create_version().pk
    storage.save_part(version, "p", _arrays(400))
    small = _arrays(3)
    size = storage.save_part(version, "p", small)
    assert ModelPart.objects.filter(version_id=version, name="p").count() == 1
    stored = ModelPartChunk.objects.filter(part__version_id=version).annotate(n=Length("data"))
    assert sum(stored.values_list("n", flat=True)) == size
    _assert_same(storage.load_parts(version)["p"], small)


def test_a_failed_write_leaves_the_previous_part_whole():
    version = storage.create_version().pk
    before = _arrays(200)
    storage.save_part(version, "p", before)
    chunks = ModelPartChunk.objects.filter(part__version_id=version).count()
    broken = {**_arrays(300), "zz_objects": np.asarray([object()], dtype=object)}  # written last
    with pytest.raises(ValueError, match="pickle"):
        storage.save_part(version, "p", broken)
    assert ModelPartChunk.objects.filter(part__version_id=version).count() == chunks
    _assert_same(storage.load_parts(version)["p"], before)


def test_a_part_stored_in_one_row_before_chunks_still_loads():
    version = storage.create_version().pk
    arrays = _arrays(50)
    whole = io.BytesIO()  # the layout of older versions: the part's savez bytes in ModelPart.data
    np.savez(whole, **arrays)
    ModelPart.objects.create(version_id=version, name="old", data=whole.getvalue(), size_bytes=1)
    storage.save_part(version, "new", _arrays(5))
    loaded = storage.load_parts(version)
    _assert_same(loaded["old"], arrays)
    _assert_same(loaded["new"], _arrays(5))
    assert [name for name, _ in storage.iter_parts(version, prefix="ol")] == ["old"]


def test_a_rebuild_in_small_chunks_serves_and_prune_deletes_every_chunk(shop, settings):
    settings.RECOMMENDATIONS_KEEP_MODEL_VERSIONS = 0
    visitors = shop.history()
    first = training.rebuild()
    first_chunks = ModelPartChunk.objects.filter(part__version_id=first).count()
    assert first_chunks > ModelPart.objects.filter(version_id=first).count()  # parts span chunks
    bundles.clear()
    assert recommend(Subject(None, visitors[0]), "for_you", limit=4)
    second = training.rebuild()  # its prune deletes the first version, parts and chunks
    assert not ModelVersion.objects.filter(pk=first).exists()
    assert not ModelPartChunk.objects.filter(part__version_id=first).exists()
    assert ModelPartChunk.objects.filter(part__version_id=second).exists()
    bundles.clear()
    assert bundles.current().version == second


def _legacy_catalogue(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The catalogue part as versions before the UTF-8 columns stored it (fixed-width ``<U``)."""
    out = {k: v for k, v in arrays.items() if not k.endswith(("_utf8", "_offsets"))}
    for name in ("ids", "titles", "texts", "brands", "category_ids", "category_labels"):
        out[name] = np.asarray(strings.column(arrays, name), dtype=str)
    return out


def test_the_catalogue_is_stored_compact_and_serves_as_the_fixed_width_one_did(shop):
    visitors = shop.history()
    version = training.rebuild()
    catalogue = storage.load_parts(version, ["catalogue"])["catalogue"]
    assert not any(v.dtype.kind in "UO" for v in catalogue.values())
    bundles.clear()
    subjects = [Subject(None, v) for v in visitors[:5]]
    served = [[(r.product_id, r.reason_code) for r in recommend(s, "for_you", limit=6)] for s in subjects]
    assert all(served)

    legacy = storage.create_version().pk
    for name, arrays in storage.load_parts(version).items():
        storage.save_part(legacy, name, _legacy_catalogue(arrays) if name == "catalogue" else arrays)
    assert storage.load_parts(legacy, ["catalogue"])["catalogue"]["titles"].dtype.kind == "U"
    new, old = bundles.load(version), bundles.load(legacy)
    for field in ("ids", "titles", "category_ids", "category_labels", "index", "tokens"):
        assert str(getattr(new, field)) == str(getattr(old, field)), field
    assert storage.activate(legacy)
    bundles.clear()
    assert bundles.current().version == legacy
    again = [[(r.product_id, r.reason_code) for r in recommend(s, "for_you", limit=6)] for s in subjects]
    assert again == served
