"""Who is this request? A visitor id in a signed first-party cookie, consent, coarse device and
privacy-preserving IP, computed once per request and cached on it."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.subjects import Subject
from recommendations.tracking.bots import is_bot

COOKIE_SALT = "recommendations.visitor"
REQUEST_ATTR = "recommendations_visitor"
_PREFETCH_HEADERS = ("HTTP_PURPOSE", "HTTP_SEC_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")


@dataclass(slots=True)
class Visitor:
    visitor_id: uuid.UUID
    user: Any  # the request's user, or None when anonymous / unknown
    opted_out: bool
    is_bot: bool  # see recommendations.tracking.bots: what counts as one, and what it records
    ip: str
    device: str
    # The response must (re)set the visitor cookie: new visitor, or a fresh one after logout.
    set_cookie: bool = False
    # A request without a valid visitor cookie: ``c:<keyed hash>`` of its network and User-Agent
    # (see :func:`cookieless_key`), what its ad frequency caps and charges are counted under.
    cookieless_key: str | None = None

    @property
    def user_id(self) -> str | None:
        return None if self.user is None else str(self.user.pk)

    @property
    def subject(self) -> Subject:
        """This request's shopper as the app's one :class:`~recommendations.subjects.Subject`."""
        return Subject(user_id=self.user_id, visitor_id=self.visitor_id)


def is_prefetch(request: HttpRequest) -> bool:
    meta = request.META
    return any(
        value in meta.get(header, "").lower()
        for header in _PREFETCH_HEADERS
        for value in ("prefetch", "prerender", "preview")
    )


def device_of(user_agent: str) -> str:
    ua = user_agent.lower()
    if "ipad" in ua or "tablet" in ua:
        return "tablet"
    if "mobi" in ua or "android" in ua or "iphone" in ua:
        return "mobile"
    return "desktop" if ua else ""


def anonymise_ip(raw: str) -> str:
    """Never the raw address: a truncated network (/24, /48) or a keyed hash, per IP_MODE."""
    mode = app_settings.IP_MODE
    if mode == "none" or not raw:
        return ""
    return _anonymise_ip(raw, mode, settings.SECRET_KEY if mode == "hash" else "")


@lru_cache(maxsize=4096)
def _anonymise_ip(raw: str, mode: str, secret: str) -> str:
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return ""
    if mode == "hash":
        return hmac.new(secret.encode(), address.packed, hashlib.sha256).hexdigest()[:32]
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def client_address(request: HttpRequest) -> str:
    """The client's address as the project trusts it: ``REMOTE_ADDR``, or, when DRF's
    ``REST_FRAMEWORK["NUM_PROXIES"]`` says how many reverse proxies stand in front of the app, the
    address the outermost of them saw (that many entries from the right of ``X-Forwarded-For``).
    Without ``NUM_PROXIES`` the header is ignored: any client can write it."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "REST_FRAMEWORK", {}).get("NUM_PROXIES")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not proxies or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    return hops[-min(int(proxies), len(hops))]


def network_of(raw: str) -> str:
    """The client's network as Google Analytics anonymises it: IPv4 /24, IPv6 /48 (an IPv4-mapped
    IPv6 address counts as its IPv4 address); ``""`` for anything that is not an address."""
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@lru_cache(maxsize=8)
def _day_key(secret: str, day: str) -> bytes:
    root = hashlib.sha256(f"recommendations.cookieless:{secret}".encode()).digest()
    return hmac.new(root, day.encode(), hashlib.sha256).digest()


def cookieless_key(raw_ip: str, user_agent: str, day: datetime.date) -> str:
    """``c:<hash>`` for a client that sent no visitor cookie: an HMAC of its network
    (:func:`network_of`) and User-Agent under a key derived from ``SECRET_KEY`` and ``day``.

    Every request from one network with one browser on one day gets the same key, so a script that
    drops its cookies is counted as one client (the first page view of every browser behind one
    NAT shares it too: conservative). The raw address is never kept; the key changes each day,
    so counts of different days cannot be linked, and without ``SECRET_KEY`` the prefix behind a
    key cannot be recovered."""
    network = network_of(raw_ip)
    digest = hmac.new(
        _day_key(settings.SECRET_KEY, day.isoformat()), f"{network}\n{user_agent}".encode(), hashlib.sha256
    )
    return "c:" + digest.hexdigest()[:32]


def _opted_out(request: HttpRequest, user: Any) -> bool:
    if request.COOKIES.get(app_settings.OPT_OUT_COOKIE_NAME) == "1":
        return True
    if app_settings.HONOUR_DNT and request.META.get("HTTP_DNT") == "1":
        return True
    if app_settings.HONOUR_GPC and request.META.get("HTTP_SEC_GPC") == "1":
        return True
    if user is not None:
        from recommendations.tracking.consent import user_opted_out

        return user_opted_out(user)
    return False


# Cookie values whose signature has been checked, -> visitor id. A returning visitor sends the same
# signed value on every request, so its HMAC is computed once per process instead of per request.
# Only values that verified are kept; the key includes everything the check depended on.
_VERIFIED_COOKIES: dict[tuple[Any, ...], uuid.UUID] = {}
_VERIFIED_COOKIES_MAX = 50_000


def _cookie_visitor_id(request: HttpRequest) -> uuid.UUID | None:
    name = app_settings.VISITOR_COOKIE_NAME
    raw = request.COOKIES.get(name)
    if not raw:
        return None
    cache_key = (settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS), name, raw)
    visitor_id = _VERIFIED_COOKIES.get(cache_key)
    if visitor_id is not None:
        return visitor_id
    value = request.get_signed_cookie(name, default=None, salt=COOKIE_SALT)
    if not value:
        return None
    try:
        visitor_id = uuid.UUID(value)
    except ValueError:
        return None
    if len(_VERIFIED_COOKIES) >= _VERIFIED_COOKIES_MAX:
        _VERIFIED_COOKIES.clear()
    _VERIFIED_COOKIES[cache_key] = visitor_id
    return visitor_id


def get_visitor(request: HttpRequest) -> Visitor:
    """The request's :class:`Visitor`, computed once and cached on the request."""
    visitor = getattr(request, REQUEST_ATTR, None)
    if visitor is not None:
        return visitor
    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    visitor_id = _cookie_visitor_id(request)
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    address = client_address(request)
    visitor = Visitor(
        visitor_id=visitor_id or uuid.uuid4(),
        user=user,
        opted_out=_opted_out(request, user),
        is_bot=is_bot(user_agent),
        ip=anonymise_ip(address),
        device=device_of(user_agent),
        set_cookie=visitor_id is None,
        cookieless_key=None if visitor_id else cookieless_key(address, user_agent, timezone.localdate()),
    )
    setattr(request, REQUEST_ATTR, visitor)
    return visitor


def refresh_user(request: HttpRequest) -> Visitor:
    """Re-read the user after login/logout changed it mid-request."""
    visitor = get_visitor(request)
    user = getattr(request, "user", None)
    visitor.user = user if user is not None and user.is_authenticated else None
    visitor.opted_out = _opted_out(request, visitor.user)
    return visitor


def start_new_visitor(request: HttpRequest) -> Visitor:
    """Logout: the browser becomes a fresh anonymous visitor."""
    visitor = get_visitor(request)
    visitor.visitor_id = uuid.uuid4()
    visitor.user = None
    visitor.set_cookie = True
    return visitor


def set_visitor_cookie(response: Any, visitor: Visitor) -> None:
    response.set_signed_cookie(
        app_settings.VISITOR_COOKIE_NAME,
        str(visitor.visitor_id),
        salt=COOKIE_SALT,
        max_age=app_settings.VISITOR_COOKIE_MAX_AGE,
        secure=app_settings.VISITOR_COOKIE_SECURE,
        httponly=True,
        samesite=app_settings.VISITOR_COOKIE_SAMESITE,
    )


def subject_of_request(request: HttpRequest) -> Subject:
    """Who is asking: the request's user (preferred for history) and its visitor cookie."""
    return get_visitor(request).subject
