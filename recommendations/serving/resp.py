"""The slot cache's one hot command (``HMGET``) over a plain socket per thread.

A cache hit is one Redis round trip, and redis-py spends about 30 µs of CPU around it (connection
pool, retry wrapper, command packing, parser objects); writing the command and reading the
two-element reply directly costs about 6 µs (``docs/benchmarks.md``). Only plain TCP connections
as redis-py would open them (host, port, database, optional user and password, timeouts) are
handled here; anything else (TLS, a Unix socket, a custom connection class), and any error, is
left to redis-py, which then also reports it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from typing import Any

import redis


class HotReader:
    """``HMGET key field...`` on a socket of the calling thread (re-opened after a fork)."""

    def __init__(self, client: redis.Redis) -> None:
        pool = client.connection_pool
        kwargs = pool.connection_kwargs
        self.supported = pool.connection_class is redis.Connection and "path" not in kwargs
        self.host = kwargs.get("host", "localhost")
        self.port = int(kwargs.get("port", 6379))
        self.db = int(kwargs.get("db", 0) or 0)
        self.username = kwargs.get("username")
        self.password = kwargs.get("password")
        self.timeout = kwargs.get("socket_timeout")
        self.connect_timeout = kwargs.get("socket_connect_timeout") or self.timeout
        self._local = threading.local()

    def _connect(self) -> tuple[socket.socket, Any]:
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout)
        reader = sock.makefile("rb")
        setup = []
        if self.password is not None:
            setup.append(["AUTH", self.username, self.password] if self.username else ["AUTH", self.password])
        if self.db:
            setup.append(["SELECT", str(self.db)])
        for command in setup:
            sock.sendall(_pack(command))
            line = reader.readline()
            if not line.startswith(b"+"):
                sock.close()
                raise redis.ConnectionError(f"Redis refused {command[0]}: {line[:100]!r}")
        self._local.conn = (os.getpid(), sock, reader)
        return sock, reader

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn[1].close()

    def hmget(self, key: str, fields: tuple[str, ...]) -> list[bytes | None]:
        """The values of ``fields`` (None where missing). Raises on any error, after dropping the
        thread's socket (the next call opens a new one)."""
        conn = getattr(self._local, "conn", None)
        try:
            if conn is None or conn[0] != os.getpid():
                sock, reader = self._connect()
            else:
                sock, reader = conn[1], conn[2]
            sock.sendall(_pack(["HMGET", key, *fields]))
            header = reader.readline()
            if header != b"*%d\r\n" % len(fields):
                raise redis.ResponseError(f"unexpected reply to HMGET: {header[:100]!r}")
            out: list[bytes | None] = []
            for _ in fields:
                line = reader.readline()
                if not line.startswith(b"$"):
                    raise redis.ResponseError(f"unexpected reply to HMGET: {line[:100]!r}")
                size = int(line[1:])
                if size < 0:
                    out.append(None)
                    continue
                data = reader.read(size + 2)
                if len(data) != size + 2:
                    raise redis.ConnectionError("Redis closed the connection")
                out.append(data[:-2])
            return out
        except BaseException:
            self.close()
            raise


def _pack(parts: list[str]) -> bytes:
    encoded = [part.encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)
