"""The slot cache's per-process copy (recommendations.serving.near) against a real Redis: a repeated
read makes no round trip, and no change made anywhere (another connection, a read racing with a
write, a lost invalidation connection, a fork) is ever hidden by a copy."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest

from recommendations.serving import near as near_module
from recommendations.serving.near import NearCache, _Incomplete, _parse

FIELDS = ("ver", "e:k")


@pytest.fixture
def client(redis_url):
    import redis

    return redis.Redis.from_url(redis_url)


@pytest.fixture
def prefix():
    return f"neartest:{uuid.uuid4().hex[:8]}:v:"


def _cache(client, prefix, fetch=None, **kwargs) -> tuple[NearCache, list[str]]:
    """A near cache over ``client``'s Redis whose reads from Redis are counted."""
    fetched: list[str] = []
    kw = client.connection_pool.connection_kwargs

    def counting(key, fields):
        fetched.append(key)
        return (fetch or client.hmget)(key, fields)

    cache = NearCache(
        counting,
        prefix=prefix,
        max_entries=kwargs.pop("max_entries", 100),
        host=kw.get("host", "localhost"),
        port=int(kw.get("port", 6379)),
        password=kw.get("password"),
        **kwargs,
    )
    return cache, fetched


def test_a_repeated_read_is_answered_in_process(client, prefix):
    cache, fetched = _cache(client, prefix)
    key = f"{prefix}{{a}}:slots"
    client.hset(key, mapping={"ver": 1, "e:k": "one"})
    assert cache.hmget(key, FIELDS) == [b"1", b"one"]
    assert cache.hmget(key, FIELDS) == [b"1", b"one"]
    assert cache.hmget(key, FIELDS) == [b"1", b"one"]
    assert fetched == [key] and cache.hits == 2
    assert cache.hmget(key, ("ver",)) == [b"1"]  # other fields: not the copy
    assert len(fetched) == 2
    cache.close()


def test_a_change_from_another_connection_is_seen_by_the_very_next_read(client, prefix):
    """Redis writes the broadcast invalidation before its reply to the writer, so a read right after
    another connection's write never answers from the copy (200 times over, no waiting)."""
    cache, fetched = _cache(client, prefix)
    key = f"{prefix}{{b}}:slots"
    client.hset(key, mapping={"ver": 0, "e:k": "x"})
    cache.hmget(key, FIELDS)
    for n in range(1, 201):
        client.hincrby(key, "ver", 1)
        assert cache.hmget(key, FIELDS)[0] == str(n).encode()
        assert cache.hmget(key, FIELDS)[0] == str(n).encode()  # and then the copy again
    assert cache.hits == 200 and len(fetched) == 201
    client.delete(key)
    assert cache.hmget(key, FIELDS) == [None, None]  # deleted (erasure, expiry): gone here too
    other = f"{prefix}{{c}}:slots"
    client.hset(other, "ver", 5)  # a change to another visitor leaves this copy alone
    assert cache.hmget(key, FIELDS) == [None, None] and cache.hits == 201
    cache.close()


def test_a_change_racing_with_the_read_is_never_kept(client, prefix):
    """The reply left Redis before the change; the invalidation arrives after it: not kept."""
    key = f"{prefix}{{d}}:slots"
    client.hset(key, mapping={"ver": 1, "e:k": "old"})
    racing = {"on": True}

    def read_then_change(name, fields):
        values = client.hmget(name, fields)
        if racing["on"]:
            client.hset(name, mapping={"ver": 2, "e:k": "new"})
        return values

    cache, fetched = _cache(client, prefix, fetch=read_then_change)
    assert cache.hmget(key, FIELDS) == [b"1", b"old"]  # what Redis had when it answered
    racing["on"] = False
    assert cache.hmget(key, FIELDS) == [b"2", b"new"]  # not the copy of the stale answer
    assert cache.hmget(key, FIELDS) == [b"2", b"new"]
    assert len(fetched) == 2 and cache.hits == 1
    cache.close()


def test_this_process_writes_drop_their_copies_at_once(client, prefix):
    cache, fetched = _cache(client, prefix)
    key = f"{prefix}{{e}}:slots"
    client.hset(key, "ver", 1)
    cache.hmget(key, FIELDS)
    cache.discard([key])
    cache.hmget(key, FIELDS)
    assert len(fetched) == 2
    cache.close()


def test_a_lost_invalidation_connection_drops_every_copy(client, prefix):
    cache, fetched = _cache(client, prefix)
    key = f"{prefix}{{f}}:slots"
    client.hset(key, "ver", 1)
    cache.hmget(key, FIELDS)
    assert cache.client_id is not None
    client.execute_command("CLIENT", "KILL", "ID", cache.client_id)
    client.hset(key, "ver", 2)  # its invalidation has nowhere to go
    assert cache.hmget(key, FIELDS)[0] == b"2"
    assert cache.hmget(key, FIELDS)[0] == b"2"  # reconnected: copies again
    assert cache.hmget(key, FIELDS)[0] == b"2"
    assert len(fetched) == 3 and cache.hits == 1
    client.hset(key, "ver", 3)  # and the new connection's invalidations arrive
    assert cache.hmget(key, FIELDS)[0] == b"3"
    cache.close()


def test_a_forked_child_starts_without_the_parents_copies(client, prefix, monkeypatch):
    cache, fetched = _cache(client, prefix)
    key = f"{prefix}{{g}}:slots"
    client.hset(key, "ver", 1)
    cache.hmget(key, FIELDS)
    parent_id = cache.client_id
    monkeypatch.setattr(near_module.os, "getpid", lambda: -1)
    cache.hmget(key, FIELDS)
    assert len(fetched) == 2 and cache.client_id != parent_id  # its own invalidation connection
    cache.close()


def test_the_copy_is_bounded(client, prefix):
    cache, fetched = _cache(client, prefix, max_entries=2)
    keys = [f"{prefix}{{h{n}}}:slots" for n in range(3)]
    for key in keys:
        cache.hmget(key, FIELDS)
    cache.hmget(keys[0], FIELDS)  # the least recently used went
    assert len(fetched) == 4
    cache.hmget(keys[2], FIELDS)
    assert len(fetched) == 4
    cache.close()


def test_messages_split_anywhere_are_read_whole():
    stream = (
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*2\r\n$3\r\nv:a\r\n$3\r\nv:b\r\n"
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
    )
    for cut in range(1, len(stream)):
        cache = NearCache(lambda k, f: [], prefix="v:", max_entries=4, host="127.0.0.1", port=1)
        cache._entries.update({"v:a": (("ver",), [b"1"]), "v:c": (("ver",), [b"1"])})
        cache._buf += stream[:cut]
        cache._take_messages()
        cache._buf += stream[cut:]
        cache._take_messages()
        assert not cache._entries and not cache._buf  # both keys, then the flush
    with pytest.raises(_Incomplete):
        _parse(bytearray(b"*2\r\n$3\r\nab"), 0)


def test_a_server_without_client_tracking_turns_the_copy_off():
    """A server that refuses CLIENT TRACKING (Redis < 6, an ACL): every read goes to Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.recv(1000)
            conn.sendall(b":7\r\n")  # CLIENT ID
            conn.recv(1000)
            conn.sendall(b"-ERR unknown subcommand 'TRACKING'\r\n")
            conn.recv(1000)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    fetched = []
    cache = NearCache(
        lambda k, f: fetched.append(k) or [b"1"],
        prefix="v:",
        max_entries=4,
        host="127.0.0.1",
        port=server.getsockname()[1],
    )
    assert cache.hmget("v:x", ("ver",)) == [b"1"]
    assert cache.hmget("v:x", ("ver",)) == [b"1"]
    assert fetched == ["v:x", "v:x"] and not cache.enabled
    server.close()
