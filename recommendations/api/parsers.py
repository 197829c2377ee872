"""The API's JSON parser: DRF's, with hostile nesting answered by a short 400.

``json.loads`` recurses once per ``[`` or ``{``: a body of a few hundred kilobytes of ``[`` raises
``RecursionError``, which DRF's parser lets through (a 500). Here it is a parse error like any
other. What does parse is never walked recursively afterwards: the only nested field of an event,
``context``, is checked for depth iteratively (``recommendations.api.event_parsing``).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    """``application/json``; a body nested too deeply for the parser is a 400, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
