"""A real headless Chromium renders the portrait page: the inline SVG charts have size and bars.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``); missing, the test is skipped with the reason, or fails when
RECOMMENDATIONS_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from recommendations import portraits as service
from tests.conftest import _missing

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        _missing(
            f"headless Chromium needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    profile = tempfile.mkdtemp(prefix="rec-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,2200",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download_restrictions": 3})  # no downloads
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _log_in(browser, client, live_server, user) -> None:
    client.force_login(user)
    browser.get(live_server.url + "/admin/login/")
    browser.add_cookie(
        {
            "name": django_settings.SESSION_COOKIE_NAME,
            "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
        }
    )


def test_portrait_page_renders_its_charts_in_chromium(
    browser, live_server, client, analyst, camper, tmp_path
):
    from selenium.webdriver.common.by import By

    portrait = service.rebuild(user=camper)
    _log_in(browser, client, live_server, analyst)
    browser.get(live_server.url + reverse("admin:recommendations_portrait_change", args=[portrait.pk]))
    assert "Portrait of camper" in browser.title
    sizes = {}
    for chart in ("chart-categories", "chart-activity", "chart-rfm", "chart-hours"):
        element = browser.find_element(By.ID, chart)
        sizes[chart] = element.size
        assert element.size["width"] > 100
        assert element.size["height"] > 20
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart-categories rect.bar")
    assert len(bars) == len(portrait.categories) >= 3
    assert all(bar.size["width"] > 0 for bar in bars)
    # the strongest affinity's bar is the longest
    widths = [bar.size["width"] for bar in bars]
    assert widths[0] == max(widths)
    day_bars = browser.find_elements(By.CSS_SELECTOR, "#chart-activity rect.bar")
    assert sum(1 for bar in day_bars if bar.size["height"] > 0) == sum(
        1 for n in portrait.activity["daily"] if n
    )
    assert browser.find_element(By.CSS_SELECTOR, "#chart-rfm circle.marker").size["width"] > 0
    shot = tmp_path / "portrait.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
