"""What counts as a bot, and what is recorded for one: the same rule on every capture path (the
middleware, the signals sent with a request, the HTTP API; ads follow a stricter one).

A request is a bot when its User-Agent is missing or matches ``BOT_USER_AGENT_PATTERN`` (crawlers,
link previews, monitors, headless browsers, curl, wget, python-requests...). A bot gets no visitor
cookie, so without this rule each of its requests would be a new anonymous visitor: a scripted
checkout left seven "visitors" behind, each with one cart event.

For a bot:

* anonymous browsing (views, searches, cart changes, impressions, clicks, custom kinds) is not
  recorded: it says nothing about what shoppers want, and every event would mint a visitor;
* purchases are recorded: an order the shop took is a fact its revenue, lifetime values and
  experiments must add up to. All lines of one order share the request's one visitor;
* a logged-in user is a known shopper whatever the client: every kind is recorded under the user,
  and the throw-away visitor id of a request without the visitor cookie is not stored with it.

Events sent without a request (signals with ``user=``/``visitor_id=``, the order-model hook, bulk
import) are the shop's own word and are never filtered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from recommendations.conf import app_settings
from recommendations.schema import EventRow

if TYPE_CHECKING:
    from recommendations.tracking.visitors import Visitor

# What an anonymous bot's request still records.
BOT_RECORDED_KINDS = frozenset({"purchase"})


@cache
def _bot_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def is_bot(user_agent: str) -> bool:
    """A missing User-Agent, or one matching ``BOT_USER_AGENT_PATTERN`` (case-insensitive)."""
    return not user_agent or bool(_bot_pattern(app_settings.BOT_USER_AGENT_PATTERN).search(user_agent))


def may_record(visitor: Visitor, kind: str) -> bool:
    """Whether an event of ``kind`` is recorded for the request behind ``visitor``."""
    return not visitor.is_bot or visitor.user is not None or kind in BOT_RECORDED_KINDS


def recordable_rows(rows: Sequence[EventRow], visitor: Visitor) -> list[EventRow]:
    """The rows a request's ``visitor`` may record (all of them unless it is a bot). A logged-in
    bot's rows lose the request's throw-away visitor id (no cookie came with it, none is set)."""
    if not visitor.is_bot:
        return list(rows)
    kept = [row for row in rows if row.user_id is not None or row.kind in BOT_RECORDED_KINDS]
    if visitor.set_cookie:  # the id was minted for this request only
        for row in kept:
            if row.user_id is not None and row.visitor_id == visitor.visitor_id:
                row.visitor_id = None
    return kept
