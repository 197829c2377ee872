"""Offline batch recommendation and evaluation on event files (no Django models needed).

Used by the ``recommendations_offline`` management command; may import the engine, never Django.
"""
