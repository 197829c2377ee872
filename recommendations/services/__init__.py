"""Deprecated (0.1 layout): the write-side services moved into their features in 0.2 —
:mod:`recommendations.training`, :mod:`recommendations.privacy`, :mod:`recommendations.tracking`
(``consent``, ``bulk``). The modules here are thin re-exports kept for one release."""
