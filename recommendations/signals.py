"""Public signals.

Signals the shop *sends* (inbound) describe what a shopper did; the app records an event for each.
Every inbound signal takes ``request`` (the current ``HttpRequest``, or ``None`` when sent from
outside a request, e.g. a payment webhook or a Celery job: then pass ``user`` or ``visitor_id``).

Signals the app *sends* (outbound) let the shop react to what the app did.
"""

from django.dispatch import Signal

# --- inbound: the shop sends these -------------------------------------------------------------

# A product page was seen outside the tracked URL names (an SPA route, a quick-view modal...).
# Arguments: request, product, user=None, visitor_id=None
product_viewed = Signal()

# A search ran. Arguments: request, query (str), result_count (int | None), user=None, visitor_id=None
searched = Signal()

# Arguments: request, product, quantity (int, default 1), unit_price (Decimal | None),
#            user=None, visitor_id=None
added_to_cart = Signal()

# Arguments: request, product, quantity (int, default 1), user=None, visitor_id=None
removed_from_cart = Signal()

# An order was paid/placed. One ``purchase`` event is recorded per line.
# Arguments: request, order_id (str), lines (iterable of (product, quantity, unit_price)),
#            user=None, visitor_id=None
order_placed = Signal()

# --- outbound: the app sends these -------------------------------------------------------------

# An anonymous visitor's history was merged into a user on login.
# Arguments: visitor_id (uuid.UUID), user, events_merged (int)
visitor_merged = Signal()

# A visitor opted out of (or back into) recording. Arguments: visitor_id (uuid.UUID), user, opted_out (bool)
consent_changed = Signal()

# --- internal: sent by one part of the app so that a higher one can react without being imported --

# Events were stored in the database (sent after the transaction commits). The portraits feature
# listens to it to schedule rebuilds; the storage layer never calls up.
# Arguments: rows (sequence of recommendations.schema.EventRow)
events_stored = Signal()

# A visitor's live state changed (new recent items or searches, stored or streamed; a login merge).
# Sent right after the write, on the request or task that made it. The serving feature listens
# to refresh that visitor's cached slots in the background.
# Arguments: subjects (list of subject keys, "u:<user id>" / "v:<visitor id>", each once)
live_state_updated = Signal()
