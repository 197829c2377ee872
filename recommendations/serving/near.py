"""A per-process copy of the slot cache's reads, kept valid by Redis (client-side caching).

A slot read is one ``HMGET`` of the visitor's ``v:{<subject>}:slots`` hash (the live-state version
and the entry). This module keeps what those reads returned in the process, so that a repeated read
makes no round trip, and drops a copy as soon as Redis says its key changed:

* One connection per process asks Redis for every change under the visitor keys' prefix
  (``CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX <prefix>v:``, then ``SUBSCRIBE
  __redis__:invalidate``: the RESP2 form, Redis 6 or newer). Broadcasting mode ties the tracking to
  that one connection, not to whichever thread's socket read a key, so a thread that ends (a
  development server starts one per request) cannot silently stop the invalidations.
* Every read first takes whatever invalidations have arrived on that connection (a non-blocking
  ``recv``: no round trip). Redis writes a broadcast invalidation before it replies to the command
  that made the change, so on one host a shopper's next request, wherever it lands, finds the
  invalidation already waiting; writes made by this process also drop their keys here directly
  (:meth:`NearCache.discard`).
* A value read from Redis is kept only if no invalidation of its key (and no flush) arrived while
  the read was on its way, so a change racing with the read can never be kept.
* Anything unexpected on that connection (closed, an error, a fork) drops every copy; the next
  read reconnects. A server without client tracking turns the copy off for the process.

What is kept is bounded (``max_entries``, least recently used dropped), and the slot cache still
checks each entry's model version, live-state version and age on every read.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

Fetch = Callable[[str, tuple[str, ...]], list[bytes | None]]

_CHANNEL = b"__redis__:invalidate"
_RETRY_SECONDS = 1.0  # after a failed connection, reads go to Redis this long before the next try
_MAX_DIRTY = 10_000  # keys remembered as changed while reads are in flight; past it, all are


class _Incomplete(Exception):
    """The buffer ends inside a reply: wait for more bytes."""


class NearCache:
    """Copies of ``HMGET`` replies for keys under ``prefix``, valid while Redis says nothing changed."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        prefix: str,
        max_entries: int,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        self.fetch = fetch
        self.prefix = prefix
        self.max_entries = max(int(max_entries), 1)
        self.address = (host, port)
        self.username, self.password = username, password
        self.connect_timeout = connect_timeout or 5.0
        self.enabled = True  # False for good once Redis refuses client tracking
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[tuple[str, ...], list[bytes | None]]] = OrderedDict()
        self._sock: socket.socket | None = None
        self._pid = os.getpid()
        self._buf = bytearray()
        self._seq = 0  # invalidations taken so far (each key, each flush)
        self._changed: dict[str, int] = {}  # key -> _seq when it was last invalidated
        self._floor = 0  # a read that started before this may not be kept (a flush, a reconnect)
        self._retry_at = 0.0
        self.hits = 0  # reads answered here (tests, benchmarks)
        self.client_id: int | None = None  # the invalidation connection's, while it is open

    # -- reads ------------------------------------------------------------------------------------

    def hmget(self, key: str, fields: tuple[str, ...]) -> list[bytes | None]:
        """``HMGET key fields`` from the copy when Redis has not invalidated it, else from Redis."""
        with self._lock:
            live = self._sync()
            if live:
                held = self._entries.get(key)
                if held is not None and held[0] == fields:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return held[1]
            start = self._seq
        values = self.fetch(key, fields)
        if live:
            with self._lock:
                if self._sync() and start >= self._floor and self._changed.get(key, -1) <= start:
                    self._entries[key] = (fields, values)
                    self._entries.move_to_end(key)
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
        return values

    def discard(self, keys: Iterable[str]) -> None:
        """Drop the copies of ``keys`` (this process changed them); reads in flight keep nothing."""
        with self._lock:
            for key in keys:
                self._invalidate(key)

    def clear(self) -> None:
        """Drop every copy."""
        with self._lock:
            self._flush()

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    # -- the invalidation connection ------------------------------------------------------------

    def _sync(self) -> bool:
        """Take the invalidations that have arrived; False when copies cannot be trusted now."""
        if not self.enabled:
            return False
        if self._pid != os.getpid():  # a forked child: the parent's socket and copies are not ours
            self._pid, self._sock = os.getpid(), None
            self._buf.clear()
            self._flush()
        if self._sock is None and not self._connect():
            return False
        sock = self._sock
        assert sock is not None
        try:
            while True:
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    break
                if not data:
                    raise ConnectionError("Redis closed the invalidation connection")
                self._buf += data
                if len(data) < 65536:
                    break
            self._take_messages()
        except Exception:
            logger.warning("slot near cache: invalidation connection lost; dropping copies", exc_info=True)
            self._disconnect()
            return False
        return True

    def _connect(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._flush()  # nothing read before this connection's tracking began can be trusted
        self._buf.clear()
        sock = None
        try:
            sock = socket.create_connection(self.address, timeout=self.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf = self._buf
            if self.password is not None:
                auth = ["AUTH", self.username, self.password] if self.username else ["AUTH", self.password]
                _request(sock, buf, auth)
            client_id = _request(sock, buf, ["CLIENT", "ID"])
            tracking = ["CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX", self.prefix]
            _request(sock, buf, tracking)
            reply = _request(sock, buf, ["SUBSCRIBE", _CHANNEL])
            if not (isinstance(reply, list) and reply[:2] == [b"subscribe", _CHANNEL]):
                raise ConnectionError(f"unexpected reply to SUBSCRIBE: {reply!r}")
            sock.setblocking(False)
        except _Refused as refused:
            logger.warning("slot near cache off: Redis refused client tracking (%s)", refused)
            self.enabled = False
            _close(sock)
            return False
        except Exception:
            logger.warning("slot near cache: cannot open the invalidation connection", exc_info=True)
            self._retry_at = now + _RETRY_SECONDS
            _close(sock)
            return False
        self._sock, self.client_id = sock, int(client_id)
        return True

    def _disconnect(self) -> None:
        _close(self._sock)
        self._sock, self.client_id = None, None
        self._buf.clear()
        self._flush()

    def _take_messages(self) -> None:
        buf, pos = self._buf, 0
        while pos < len(buf):
            try:
                message, end = _parse(buf, pos)
            except _Incomplete:
                break
            pos = end
            if not (isinstance(message, list) and len(message) == 3 and message[0] == b"message"):
                continue
            if message[1] != _CHANNEL:
                continue
            keys = message[2]
            if keys is None:  # FLUSHDB / FLUSHALL: every key is gone
                self._flush()
                continue
            for raw in keys if isinstance(keys, list) else [keys]:
                self._invalidate(raw.decode(errors="replace"))
        del buf[:pos]

    def _invalidate(self, key: str) -> None:
        self._seq += 1
        self._entries.pop(key, None)
        if len(self._changed) >= _MAX_DIRTY:
            self._changed.clear()
            self._floor = self._seq
        self._changed[key] = self._seq

    def _flush(self) -> None:
        self._seq += 1
        self._floor = self._seq
        self._entries.clear()
        self._changed.clear()


class _Error(bytes):
    """An error reply."""


class _Refused(Exception):
    """Redis answered a set-up command with an error (no client tracking: Redis < 6, an ACL)."""


def _pack(parts: list[Any]) -> bytes:
    encoded = [part if isinstance(part, bytes) else str(part).encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)


def _request(sock: socket.socket, buf: bytearray, command: list[Any]) -> Any:
    """Send ``command`` and read its reply (blocking; the set-up). Bytes after it stay in ``buf``."""
    sock.sendall(_pack(command))
    while True:
        try:
            value, end = _parse(buf, 0)
        except _Incomplete:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("Redis closed the connection") from None
            buf += data
            continue
        del buf[:end]
        if isinstance(value, _Error):
            raise _Refused(f"{command[0]} {command[1] if len(command) > 1 else ''}: {bytes(value)[:200]!r}")
        return value


def _parse(buf: bytearray, pos: int) -> tuple[Any, int]:
    """The RESP2 value starting at ``pos`` and where it ends; :class:`_Incomplete` if it does not."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, head = buf[pos : pos + 1], bytes(buf[pos + 1 : end])
    pos = end + 2
    if kind == b"$":
        size = int(head)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        return bytes(buf[pos : pos + size]), pos + size + 2
    if kind == b"*":
        count = int(head)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = _parse(buf, pos)
            items.append(item)
        return items, pos
    if kind == b":":
        return int(head), pos
    if kind == b"+":
        return head, pos
    if kind == b"-":
        return _Error(head), pos
    raise ConnectionError(f"not a Redis reply: {bytes(buf[pos - 2 - len(head) - 1 : pos])[:100]!r}")


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
