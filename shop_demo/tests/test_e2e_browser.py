"""End to end in a real headless Chromium: browsing shapes "for you", clicks are attributed, and
the anonymous history follows the shopper through the login form.

Debian's ``chromium`` + ``chromium-driver`` through Selenium, with explicit paths so Selenium
Manager never downloads anything. Without them the test is skipped with the reason, or fails when
``RECOMMENDATIONS_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db.models import Count
from django.utils import timezone

from recommendations.models import Event
from shop_demo.shop.models import Product
from shop_demo.shop.seeding import seed_demo

from .factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRE_SERVICES = os.environ.get("RECOMMENDATIONS_REQUIRE_SERVICES") == "1"
# A desktop Chrome user agent: the app (rightly) treats "HeadlessChrome" as a bot and records nothing.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0 Safari/537.36"
)
WAIT = 10.0
DOMINANT_SHARE = 0.6


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (RECOMMENDATIONS_REQUIRE_SERVICES=1: services are required)")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        _missing(f"selenium is not installed: {exc}")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            _missing(f"{path} not found: apt-get install -y chromium chromium-driver (Debian '{package}')")
    profile = tempfile.mkdtemp(prefix="e2e-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--user-agent={USER_AGENT}",
        "--window-size=1280,1600",
    ):
        options.add_argument(argument)
    # An explicit driver path: Selenium Manager is skipped, nothing is downloaded.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll until ``check()`` is truthy (beacons and the click are recorded after the response)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def slot_cards(driver: Any, slot: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, f'section[data-rec-slot="{slot}"] .rec-card')


def for_you_categories(driver: Any, base_url: str) -> list[str]:
    driver.get(f"{base_url}/")
    return [card.get_attribute("data-category") for card in slot_cards(driver, "for_you")]


@pytest.fixture
def trained_shop() -> str:
    """A small seeded shop (6 categories, 40 shoppers' history) with trained models; returns the
    slug of the busiest category, the one the shopper will browse."""
    report = seed_demo(n_products=90, n_categories=6, n_shoppers=40, seed=7)
    assert report.model_version is not None, "seed_demo must end with trained models"
    busiest = (
        Event.objects.filter(kind="view")
        .values("product__category__slug")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return busiest["product__category__slug"]


def test_browsing_shapes_for_you_clicks_are_attributed_and_login_keeps_history(
    browser, live_server, trained_shop
):
    from selenium.webdriver.common.by import By

    base = live_server.url
    category = trained_shop
    started = timezone.now()  # everything seeded happened before this
    before = for_you_categories(browser, base)
    assert before, "for-you renders before any browsing (trending fallback)"

    # An anonymous shopper opens three products of one category from its listing page.
    viewed: list[int] = []
    for n in range(3):
        browser.get(f"{base}/products/?category={category}")
        cards = browser.find_elements(By.CSS_SELECTOR, ".grid .card-title a")
        cards[n].click()
        eventually(
            lambda: "/products/" in browser.current_url and "category" not in browser.current_url,
            "a product page",
        )
        viewed.append(int(browser.current_url.rstrip("/").split("/")[-1]))
    assert Product.objects.filter(pk__in=viewed, category__slug=category).count() == 3
    browsing = Event.objects.filter(created_at__gte=started)
    visitor_ids = set(
        browsing.filter(kind="view", product_id__in=viewed).values_list("visitor_id", flat=True)
    )
    assert len(visitor_ids) == 1 and None not in visitor_ids, "three views by one anonymous visitor"
    (visitor_id,) = visitor_ids

    # Back home: "for you" is dominated by that category, and says why.
    after = for_you_categories(browser, base)
    share = Counter(after)[category] / len(after)
    assert share >= DOMINANT_SHARE, f"for-you after browsing {category!r}: {after}"
    assert share > Counter(before)[category] / len(before)
    reasons = [card.get_attribute("title") for card in slot_cards(browser, "for_you")]
    assert all(reasons), "every item explains itself on hover"
    viewed_titles = set(Product.objects.filter(pk__in=viewed).values_list("name", flat=True))
    assert any(title in reason for reason in reasons for title in viewed_titles), reasons

    # The beacon reports the slot's impressions from the page.
    eventually(
        lambda: Event.objects.filter(kind="impression", slot="for_you", visitor_id=visitor_id).exists(),
        "for-you impressions from the beacon",
    )

    # A click on a recommended item of that category is attributed to the slot and the product.
    card = next(c for c in slot_cards(browser, "for_you") if c.get_attribute("data-category") == category)
    clicked = int(card.get_attribute("data-rec-product"))
    position = int(card.get_attribute("data-rec-position"))
    card.find_element(By.CSS_SELECTOR, "a.rec-link").click()
    eventually(
        lambda: browser.current_url.split("?")[0].endswith(f"/products/{clicked}/"), "the product page"
    )
    click = eventually(
        lambda: browsing.filter(kind="click", slot="for_you", product_id=clicked).first(),
        "the attributed click",
    )
    assert click.position == position
    assert click.visitor_id == visitor_id

    # Logging in through the real form keeps the history: the anonymous events become the user's.
    user = UserFactory(username="e2e-shopper")
    browser.find_element(By.LINK_TEXT, "Log in").click()
    browser.find_element(By.ID, "id_username").send_keys(user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    eventually(lambda: "Hi, e2e-shopper" in browser.page_source, "the logged-in header")
    mine = set(Event.objects.filter(kind="view", user=user).values_list("product_id", flat=True))
    assert set(viewed) <= mine
    assert not Event.objects.filter(visitor_id=visitor_id, user__isnull=True).exists()

    # ...and "for you" still follows it, now for the user.
    logged_in = for_you_categories(browser, base)
    assert Counter(logged_in)[category] / len(logged_in) >= DOMINANT_SHARE, logged_in
