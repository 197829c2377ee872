"""The experiment results in a real headless Chromium at 1280 px: the page never scrolls sideways
and the table stays inside its box (issue 10, item 18: it overflowed)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.experiments.test_experiments import _exposures, _two_arm_experiment
from tests.portraits.test_browser import _log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTH = 1280


@pytest.mark.parametrize(("visitors", "min_sample"), [(240, 20), (2, 100)])
def test_results_table_fits_1280_px(
    browser, live_server, client, items, settings, tmp_path, visitors, min_sample
):
    from django.contrib.auth import get_user_model

    from recommendations.models import Variant

    settings.RECOMMENDATIONS_EXPERIMENTS_MIN_SAMPLE = min_sample
    experiment = _two_arm_experiment()
    Variant.objects.filter(experiment=experiment, name="treatment").update(
        name="treatment-with-a-rather-long-name-for-a-variant"
    )
    _exposures(experiment, items, visitors)
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    _log_in(browser, client, live_server, admin)
    browser.set_window_size(WIDTH, 1400)
    browser.get(live_server.url + reverse("admin:recommendations_experiment_change", args=[experiment.pk]))
    page_width, viewport = browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    table_right, box_right = browser.execute_script(
        "const t = document.querySelector('.field-results table');"
        "return [t.getBoundingClientRect().right, t.closest('fieldset').getBoundingClientRect().right]"
    )
    shot = tmp_path / f"experiment-{visitors}.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert page_width <= viewport, f"the page scrolls sideways: {page_width} > {viewport} px"
    assert table_right <= box_right + 1, f"the table sticks out of its box: {table_right} > {box_right}"
    text = browser.find_element("css selector", ".field-results table").text
    if visitors < min_sample:
        assert "not enough data" in text
    else:
        assert "vs control" in text and "95% CI" in text
