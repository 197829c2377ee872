"""Demo accounts: ``admin``/``admin`` and ``shopper1``…``shopperN`` with password ``demo``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from . import words

SHOPPER_PREFIX = "shopper"
DEMO_PASSWORD = "demo"  # a published demo login, on purpose


@dataclass(frozen=True)
class ShopperSeed:
    username: str
    first_name: str
    last_name: str
    date_joined: datetime

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


def ensure_admin() -> bool:
    """Create the ``admin`` superuser unless it exists; returns whether it was created."""
    User = get_user_model()
    if User.objects.filter(username="admin").exists():
        return False
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    return True


def plan_shoppers(rng: np.random.Generator, n: int, joined: list[datetime]) -> list[ShopperSeed]:
    return [
        ShopperSeed(
            username=f"{SHOPPER_PREFIX}{i + 1}",
            first_name=words.FIRST_NAMES[int(rng.integers(len(words.FIRST_NAMES)))],
            last_name=words.LAST_NAMES[int(rng.integers(len(words.LAST_NAMES)))],
            date_joined=joined[i],
        )
        for i in range(n)
    ]


def write_shoppers(shoppers: list[ShopperSeed]) -> dict[str, int]:
    """Create missing accounts; returns username -> user pk.

    The password is hashed once and shared: hashing "demo" 500 times would take minutes, and these
    accounts are public demo logins anyway.
    """
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)
    User.objects.bulk_create(
        [
            User(
                username=s.username,
                email=s.email,
                first_name=s.first_name,
                last_name=s.last_name,
                password=password,
                date_joined=s.date_joined,
            )
            for s in shoppers
        ],
        batch_size=500,
        ignore_conflicts=True,
    )
    names = [s.username for s in shoppers]
    ids: dict[str, int] = {}
    for start in range(0, len(names), 900):
        ids.update(User.objects.filter(username__in=names[start : start + 900]).values_list("username", "pk"))
    return ids
