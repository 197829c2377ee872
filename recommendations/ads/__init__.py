"""Sponsored ad slots: campaigns served next to recommendations, within budget, pace and cap.

``catalog`` (live campaigns, cached), ``targeting`` (who may see which campaign), ``ledger`` (the
atomic spend counters: Redis Lua, or the database under ``select_for_update``), ``serving``
(rank by expected value and charge), ``clicks`` (signed click redirects), ``events`` (impressions
and clicks as events), ``blending`` (sponsored items inside an organic slot), ``reporting``.
"""
