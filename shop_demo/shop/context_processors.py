"""Header data on every page: the department navigation and the cart badge."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import catalogue
from .cart import Cart


def shop(request: HttpRequest) -> dict:
    session = getattr(request, "session", None)
    return {
        "nav_departments": SimpleLazyObject(catalogue.departments),
        "cart_count": len(Cart(session)) if session is not None else 0,
    }
