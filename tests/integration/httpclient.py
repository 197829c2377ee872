"""A minimal HTTP client for talking to a running server: JSON in and out, cookies kept."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from django.http import HttpRequest

from recommendations.conf import app_settings
from recommendations.tracking.visitors import COOKIE_SALT

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"


class Browser:
    """One visitor: a cookie jar and a browser User-Agent."""

    user_agent = BROWSER_UA

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.last_headers: Any = None  # of the last post_json response
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def post_json(self, path: str, payload: Any) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - always the test server's http:// URL
            self.base_url + path,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": self.user_agent},
        )
        try:
            with self._opener.open(request, timeout=30) as response:
                self.last_headers = response.headers
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            self.last_headers = exc.headers
            return exc.code, json.loads(exc.read() or b"{}")

    def get_json(self, path: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - always the test server's http:// URL
            self.base_url + path, headers={"User-Agent": self.user_agent}
        )
        try:
            with self._opener.open(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def post_events(self, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """Post events the way a page's beacon does: from a page the browser loaded, so with the
        visitor cookie that page set (the cookie scopes the events' ids)."""
        if not any(cookie.name == app_settings.VISITOR_COOKIE_NAME for cookie in self.cookies):
            self.get_json("/ping/")
        return self.post_json("/api/recommendations/events/", events)

    @property
    def visitor_id(self) -> uuid.UUID:
        """The visitor id the server gave this browser (its signed cookie, verified)."""
        name = app_settings.VISITOR_COOKIE_NAME
        request = HttpRequest()
        request.COOKIES[name] = next(cookie.value for cookie in self.cookies if cookie.name == name)
        return uuid.UUID(request.get_signed_cookie(name, salt=COOKIE_SALT))


class ServerClient(Browser):
    """A shop's server posting for its shoppers: no cookie jar, a non-browser User-Agent."""

    user_agent = "shop-backend/1.0"

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self._opener = urllib.request.build_opener()  # keeps no cookies

    def post_events(self, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        return self.post_json("/api/recommendations/events/", events)

    @property
    def visitor_id(self) -> uuid.UUID:
        raise AttributeError("a cookieless client has no visitor id")
