"""The personal slot endpoints' answer, cached ready to send.

On a plain request (a GET with the default content type, authentication, permissions and no
throttle, a plainly valid query, a visitor who did not opt out) ``for-you/`` and
``recently-viewed/`` skip DRF's request wrapping, negotiation and rendering: the slot cache holds
the JSON body itself, rendered once with placeholders where the per-request recommendation tokens
go, so a hit costs one cache lookup, the tokens' signatures and one string join. Any other request
takes the full DRF path, which answers with the same bytes (``tests/serving/test_slot_body.py``).

The body template is registered with the serving page (kind ``"api"``) in ``AppConfig.ready``,
so the refresh task renders it too.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

from django.http import HttpRequest, HttpResponse
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.permissions import AllowAny

from recommendations import attribution
from recommendations.serving import page
from recommendations.serving.page import Row, SlotSpec
from recommendations.serving.render import PLAIN_TOKEN, with_token
from recommendations.tracking.visitors import get_visitor

# The kind names the entry's layout: a new layout takes a new name, so an entry another version of
# the app wrote (a rolling deploy, one Redis) is never read as this one.
KIND = "api2"
_SEP = "\x1e"  # never in JSON text: control characters are escaped there
_MARK = f"rt{secrets.token_hex(12)}"  # placeholder: letters and digits pass JSON and URL escaping as is
_JSON_ACCEPT = re.compile(r"^\s*(application/json|\*/\*)\s*(;.*)?$")


def template(specs: Sequence[SlotSpec], rows: Sequence[Sequence[Row]]) -> str:
    """The body ``{"slot": ..., "results": [...]}`` of a one-slot page, as DRF's JSONRenderer
    would write it, split where the tokens go, behind the tokens' (source, product, has-URL)."""
    from recommendations.api.slots import item_dicts  # the endpoints' item fields, one definition

    (spec,), (slot_rows,) = specs, rows
    items = item_dicts(
        _Item(row, with_token(row.url, _MARK), position) for position, row in enumerate(slot_rows)
    )
    body = json.dumps({"slot": spec.slot, "results": items}, ensure_ascii=False, separators=(",", ":"))
    body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")  # as DRF does
    meta = []
    for position, row in enumerate(slot_rows):
        frame = attribution.token_frame(spec.slot, row.source, position, row.product_id)
        plain = frame is not None and PLAIN_TOKEN.fullmatch(frame[0] + frame[1]) is not None
        meta.append([row.source, row.product_id, int(bool(row.url)), frame, int(plain)])
    return _SEP.join([json.dumps(meta), *body.split(_MARK)])


class _Item:
    """A row as ``item_dicts`` reads it, its token a placeholder."""

    __slots__ = ("image_url", "position", "price", "product_id", "reason", "reason_code", "score")
    __slots__ += ("source", "title", "token", "url")

    def __init__(self, row: Row, url: str, position: int) -> None:
        self.product_id, self.title, self.url, self.image_url = row.product_id, row.title, url, row.image_url
        self.price, self.score, self.reason, self.reason_code = (
            row.price,
            row.score,
            row.reason,
            row.reason_code,
        )
        self.source, self.position, self.token = row.source, position, _MARK


def fill(payload: str, slot: str, request_id: str) -> bytes:
    """The body with this request's signed tokens in place of the placeholders."""
    meta_text, *parts = payload.split(_SEP)
    meta = json.loads(meta_text)
    frames = [frame for _source, _pid, _url, frame, _plain in meta]
    head = f"{attribution.PREFIX}{slot}{attribution.SEP}"
    if all(frame and frame[0].startswith(head) for frame in frames) and attribution.SEP not in request_id:
        # the text around the request ids is ready (written with the body, for this slot)
        tokens = attribution.sign_frames(frames, request_id)
        # stamp and signature are plain (base 62, URL-safe base 64): a token is plain when the
        # text around its request id was (known when the body was written) and the id is
        plain_id = PLAIN_TOKEN.fullmatch(request_id) is not None
        plains = [bool(plain) and plain_id for *_rest, plain in meta]
    else:
        tokens = attribution.sign_all(
            [attribution.Token(slot, entry[0], n, entry[1], request_id) for n, entry in enumerate(meta)]
        )
        plains = [PLAIN_TOKEN.fullmatch(token) is not None for token in tokens]
    out, k = [parts[0]], 1
    for (_source, _pid, has_url, _frame, _plain), token, plain in zip(meta, tokens, plains, strict=True):
        if has_url:  # inside the product URL: URL-escaped (what with_token gives), then JSON
            out += [token.replace(":", "%3A") if plain else quote_plus(token), parts[k]]
            k += 1
        out += [token if plain else json.dumps(token, ensure_ascii=False)[1:-1], parts[k]]
        k += 1
    return "".join(out).encode()


def _plain_request(view: Any, request: HttpRequest) -> bool:
    """Would DRF treat this request exactly as Django already sees it?"""
    meta = request.META
    accept = meta.get("HTTP_ACCEPT", "*/*")
    return (
        request.method == "GET"
        and "HTTP_AUTHORIZATION" not in meta
        and "format" not in request.GET
        and all(_JSON_ACCEPT.match(part) for part in accept.split(","))
        and all(
            issubclass(c, SessionAuthentication | BasicAuthentication) for c in view.authentication_classes
        )
        and all(c is AllowAny for c in view.permission_classes)
        and not view.throttle_classes
    )


def fast_response(view: Any, request: HttpRequest, query: dict[str, Any] | None) -> HttpResponse | None:
    """The answer to a plain request for one personal slot, or None for the full DRF path."""
    if query is None or query.get("user") or not _plain_request(view, request):
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and not user.is_active:
        return None  # DRF's session authentication treats an inactive user as anonymous
    visitor = get_visitor(request)
    if visitor.opted_out:
        return None
    from recommendations.api.slots import context_dict

    slot = query.get("slot") or view.slot
    spec = SlotSpec(slot, context_dict(query), query["limit"])
    try:
        payload = page.page_payload(visitor.subject, [spec], KIND)
    except ValueError:  # an unknown slot recipe: the full path answers the 400
        return None
    response = HttpResponse(
        fill(payload, slot, attribution.new_request_id()), content_type="application/json"
    )
    for name, value in _headers(view):
        response[name] = value
    return response


_HEADERS: dict[type, list[tuple[str, str]]] = {}


def _headers(view: Any) -> list[tuple[str, str]]:
    """The headers DRF's ``finalize_response`` gives the view's answers (Allow, Vary, the cache
    headers), worked out once per view class."""
    headers = _HEADERS.get(type(view))
    if headers is None:
        view.headers = view.default_response_headers
        blank = view.finalize_response(HttpRequest(), HttpResponse(content_type="application/json"))
        headers = _HEADERS[type(view)] = [(k, v) for k, v in blank.items() if k != "Content-Type"]
    return headers


def register() -> None:
    """Let the serving page (and so the refresh task) render this kind of entry."""
    page.RENDERERS[KIND] = template
