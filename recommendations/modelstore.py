"""Versioned model storage: write parts while building, swap the active pointer atomically.

Parts are dictionaries of numpy arrays stored as ``numpy.savez`` bytes (no pickle), split over
:class:`~recommendations.models.ModelPartChunk` rows of at most ``MODEL_PART_CHUNK_BYTES``: a part
of any size fits what the database accepts in one value, storing streams (``numpy.savez`` writes
16 MiB at a time into the chunk being filled, so a part is never held as one ``bytes``) and loading
reads the chunks in place (no joined copy). The active version of a kind is cached per process for
``MODEL_CHECK_SECONDS``; with ``REDIS_URL`` set the number is also published in Redis, so other
processes notice a swap with one cheap GET.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta

import numpy as np
from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.connections import read_database, redis_client
from recommendations.models import ActiveModel, ModelPart, ModelPartChunk, ModelVersion

logger = logging.getLogger(__name__)

Arrays = dict[str, np.ndarray]
MAIN = "main"

_lock = threading.Lock()
_active: dict[str, tuple[float, int | None]] = {}  # kind -> (checked at, version id)


def create_version(kind: str = MAIN) -> ModelVersion:
    return ModelVersion.objects.create(kind=kind)


class _ChunkWriter(io.RawIOBase):
    """A write-only stream into one part's chunk rows: every ``size`` bytes become a row.

    Not seekable, so ``zipfile`` (under ``numpy.savez``) writes each member's sizes after its data
    instead of seeking back, and the bytes go out in one pass."""

    def __init__(self, part_id: int, size: int, using: str) -> None:
        super().__init__()
        self.part_id, self.size, self.using = part_id, max(int(size), 1), using
        self.buffer = bytearray()
        self.written = 0
        self.chunks = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.written

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self.buffer += view
        self.written += len(view)
        while len(self.buffer) >= self.size:
            self._flush(self.size)
        return len(view)

    def _flush(self, n: int) -> None:
        chunk = bytes(self.buffer[:n])
        del self.buffer[:n]
        ModelPartChunk.objects.using(self.using).create(part_id=self.part_id, index=self.chunks, data=chunk)
        self.chunks += 1

    def finish(self) -> int:
        if self.buffer:
            self._flush(len(self.buffer))
        return self.written


class _ChunkReader(io.RawIOBase):
    """A seekable read-only stream over a part's chunks, as they came from the database."""

    def __init__(self, chunks: list[bytes | memoryview]) -> None:
        super().__init__()
        self.chunks = [memoryview(c).cast("B") for c in chunks]
        self.starts = np.cumsum([0] + [len(c) for c in self.chunks]).tolist()
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.starts[-1]}[whence]
        self.position = max(base + offset, 0)
        return self.position

    def readinto(self, buffer) -> int:
        out = memoryview(buffer).cast("B")
        done = 0
        while done < len(out) and self.position < self.starts[-1]:
            k = int(np.searchsorted(self.starts, self.position, side="right")) - 1
            at = self.position - self.starts[k]
            n = min(len(out) - done, len(self.chunks[k]) - at)
            out[done : done + n] = self.chunks[k][at : at + n]
            done += n
            self.position += n
        return done


def _read(chunks: list[bytes | memoryview]) -> Arrays:
    with np.load(_ChunkReader(chunks), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def save_part(version_id: int, name: str, arrays: Mapping[str, np.ndarray]) -> int:
    """Store (or replace: chunk tasks may be retried) one part; returns its size in bytes.

    One transaction: a reader sees the old part or the whole new one, and a failure leaves none."""
    using = router.db_for_write(ModelPart)
    with transaction.atomic(using=using):
        part, _ = ModelPart.objects.using(using).update_or_create(
            version_id=version_id, name=name, defaults={"data": b"", "size_bytes": 0}
        )
        ModelPartChunk.objects.using(using).filter(part=part).delete()
        writer = _ChunkWriter(part.pk, app_settings.MODEL_PART_CHUNK_BYTES, using)
        np.savez(writer, allow_pickle=False, **{key: np.asarray(value) for key, value in arrays.items()})
        size = writer.finish()
        ModelPart.objects.using(using).filter(pk=part.pk).update(size_bytes=size)
    return size


def load_parts(
    version_id: int, names: list[str] | None = None, prefix: str | None = None, *, using: str | None = None
) -> dict[str, Arrays]:
    """The parts of a version (``names``, or those starting with ``prefix``; all by default),
    read one at a time from ``using`` (default: the default database)."""
    return dict(iter_parts(version_id, names, prefix, using=using))


def iter_parts(
    version_id: int | None,
    names: list[str] | None = None,
    prefix: str | None = None,
    *,
    using: str | None = None,
) -> Iterator[tuple[str, Arrays]]:
    """:func:`load_parts` one part at a time (``version_id`` None: every version's, for a
    maintenance pass such as :mod:`recommendations.privacy`; see :func:`part_rows`)."""
    for _pk, _version, name, arrays in part_rows(version_id, names, prefix, using=using):
        yield name, arrays


def part_rows(
    version_id: int | None,
    names: list[str] | None = None,
    prefix: str | None = None,
    *,
    using: str | None = None,
) -> Iterator[tuple[int, int, str, Arrays]]:
    """(part pk, version id, name, arrays) of each matching part, loaded one at a time."""
    db = using or DEFAULT_DB_ALIAS
    qs = ModelPart.objects.using(db).all()
    if version_id is not None:
        qs = qs.filter(version_id=version_id)
    if names is not None:
        qs = qs.filter(name__in=names)
    if prefix is not None:
        qs = qs.filter(name__startswith=prefix)
    for pk, version, name in list(qs.order_by("pk").values_list("pk", "version_id", "name")):
        chunks = list(
            ModelPartChunk.objects.using(db)
            .filter(part_id=pk)
            .order_by("index")
            .values_list("data", flat=True)
        )
        if not chunks:  # stored before chunks existed: the whole part in ModelPart.data
            chunks = [ModelPart.objects.using(db).filter(pk=pk).values_list("data", flat=True).get()]
        yield pk, version, name, _read(chunks)


def serving_database(version_id: int) -> str:
    """Where serving reads ``version_id`` (its parts and metrics): the read replica
    (``READ_DATABASE``) once it has replayed the version's activation, which commits after every
    part; until then, and without a replica, ``"default"``."""
    alias = read_database()
    if alias == DEFAULT_DB_ALIAS:
        return alias
    ready = ModelVersion.objects.using(alias).filter(pk=version_id, status=ModelVersion.Status.READY)
    return alias if ready.exists() else DEFAULT_DB_ALIAS


def delete_parts(version_id: int, prefix: str) -> None:
    ModelPart.objects.filter(version_id=version_id, name__startswith=prefix).delete()


def mark_failed(version_id: int, error: str) -> None:
    ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.BUILDING).update(
        status=ModelVersion.Status.FAILED, error=error[:10_000], finished_at=timezone.now()
    )


def activate(
    version_id: int, *, report: Callable[[ModelVersion], object] | None = None, **fields: object
) -> bool:
    """Mark a building version ready and point serving at it, in one transaction.

    ``report(version)`` runs inside that transaction (in a savepoint of its own: a report that
    fails is logged and never undoes the swap), so whoever sees the version ready sees its report.
    Returns False (and changes nothing) when the version is no longer building: a retried or
    duplicated finishing task is a no-op.
    """
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        if version.status != ModelVersion.Status.BUILDING:
            return False
        size = sum(ModelPart.objects.filter(version_id=version_id).values_list("size_bytes", flat=True))
        for name, value in fields.items():
            setattr(version, name, value)
        version.status = ModelVersion.Status.READY
        version.finished_at = timezone.now()
        version.size_bytes = size
        version.save()
        ActiveModel.objects.update_or_create(kind=version.kind, defaults={"version": version})
        if report is not None:
            try:
                with transaction.atomic():
                    report(version)
            except Exception:  # a report: never undo a swap for it
                logger.exception("could not record the report of version %s", version_id)
        transaction.on_commit(lambda: _publish(version.kind, version.pk))
    # this process sees its own swap at once (also inside an enclosing transaction)
    with _lock:
        _active[version.kind] = (time.monotonic(), version.pk)
    return True


def _redis_key(kind: str) -> str:
    return f"{app_settings.REDIS_KEY_PREFIX}model:{kind}"


def _publish(kind: str, version_id: int) -> None:
    with _lock:
        _active[kind] = (time.monotonic(), version_id)
    client = redis_client()
    if client is not None:
        try:
            client.set(_redis_key(kind), version_id)
        except Exception:  # a Redis outage must not undo a swap the database already made
            logger.warning("could not publish model version %s to Redis", version_id, exc_info=True)


def _read_active(kind: str) -> int | None:
    client = redis_client()
    if client is not None:
        try:
            value = client.get(_redis_key(kind))
            if value is not None:
                return int(value)
        except Exception:
            logger.warning("Redis unavailable; reading the active model from the database", exc_info=True)
    version_id = ActiveModel.objects.filter(kind=kind).values_list("version_id", flat=True).first()
    if version_id is not None and client is not None:
        try:
            client.set(_redis_key(kind), version_id)
        except Exception:
            logger.debug("could not cache the active version in Redis", exc_info=True)
    return version_id


def active_version_id(kind: str = MAIN) -> int | None:
    """The served version of ``kind``; checked at most every ``MODEL_CHECK_SECONDS`` per process."""
    now = time.monotonic()
    cached = _active.get(kind)
    if cached is not None and now - cached[0] < app_settings.MODEL_CHECK_SECONDS:
        return cached[1]
    version_id = _read_active(kind)
    with _lock:
        _active[kind] = (now, version_id)
    return version_id


def clear_cache() -> None:
    """Forget the cached active versions (tests; after a database reset)."""
    with _lock:
        _active.clear()


def prune(kind: str = MAIN, keep: int | None = None) -> int:
    """Delete old versions: failed ones, stale builds and ready ones beyond the newest ``keep``."""
    keep = app_settings.KEEP_MODEL_VERSIONS if keep is None else keep
    stale = timezone.now() - timedelta(seconds=app_settings.BUILD_TIMEOUT_SECONDS)
    ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.BUILDING, created_at__lt=stale).update(
        status=ModelVersion.Status.FAILED, error="build timed out", finished_at=timezone.now()
    )
    active = ActiveModel.objects.filter(kind=kind).values_list("version_id", flat=True).first()
    ready = ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.READY).exclude(pk=active)
    old_ready = list(ready.order_by("-pk").values_list("pk", flat=True)[keep:])
    failed = ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.FAILED).exclude(pk=active)
    doomed = old_ready + list(failed.values_list("pk", flat=True))
    ModelVersion.objects.filter(pk__in=doomed).delete()
    return len(doomed)
