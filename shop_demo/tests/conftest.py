import os

import pytest
from django.conf import settings

from .factories import BrandFactory, CategoryFactory, DepartmentFactory, ProductFactory


@pytest.fixture(autouse=True)
def _fresh_recommendations_runtime():
    """The app keeps process-wide state (the in-process live store); start each test empty."""
    from recommendations import runtime

    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture
def catalogue(db):
    """Two departments, three categories, a handful of products (one sold out, one inactive)."""
    kitchen = DepartmentFactory(name="Home & Kitchen", slug="home-kitchen")
    outdoors = DepartmentFactory(name="Sports & Outdoors", slug="sports-outdoors")
    cookware = CategoryFactory(name="Cookware", slug="cookware", parent=kitchen)
    knives = CategoryFactory(name="Kitchen Knives", slug="kitchen-knives", parent=kitchen)
    camping = CategoryFactory(name="Camping", slug="camping", parent=outdoors)
    acme = BrandFactory(name="Acme", slug="acme")
    return {
        "pan": ProductFactory(name="Acme Cast-Iron Frying Pan", category=cookware, brand=acme, price="39.99"),
        "pot": ProductFactory(name="Acme Stock Pot", category=cookware, brand=acme, price="54.00"),
        "knife": ProductFactory(
            name="Forged Chef's Knife",
            category=knives,
            description="A balanced Japanese blade.",
            price="89.00",
        ),
        "tent": ProductFactory(name="Ultralight Tent", category=camping, price="249.00", stock=3),
        "sold_out": ProductFactory(name="Camping Stove", category=camping, stock=0),
        "inactive": ProductFactory(name="Retired Lantern", category=camping, is_active=False),
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@pytest.fixture
def client(db):
    """A test client that looks like a browser: the app ignores requests without a user agent (bots)."""
    from django.test import Client

    return Client(headers={"user-agent": BROWSER})


def pytest_sessionfinish(session, exitstatus):
    """Remove the -wal/-shm files a never-closed connection leaves beside the deleted test database
    (WAL mode, recommendations.sqlite)."""
    name = str((settings.DATABASES["default"].get("TEST") or {}).get("NAME") or "")
    if name and not os.path.exists(name):
        for suffix in ("-wal", "-shm"):
            if os.path.exists(name + suffix):
                os.remove(name + suffix)
