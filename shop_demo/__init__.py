"""A small but real Django shop that uses the ``recommendations`` app as a shop owner would."""

from .celery import app as celery_app

__all__ = ("celery_app",)
