"""String columns as UTF-8 bytes + offsets: round trips, and the fixed-width layout still reads."""

from __future__ import annotations

import numpy as np

from recommendations.engine import strings

VALUES = ["", "tent", "naïve ☕", "a" * 300, "", "日本語のタイトル", "x\ny\tz", "trailing  "]


def test_round_trip_keeps_every_string_and_costs_its_utf8_bytes():
    arrays = strings.encode("titles", VALUES)
    assert sorted(arrays) == ["titles_offsets", "titles_utf8"]
    assert arrays["titles_utf8"].dtype == np.uint8 and arrays["titles_offsets"].dtype == np.int64
    assert arrays["titles_utf8"].nbytes == sum(len(v.encode()) for v in VALUES)
    assert strings.column(arrays, "titles") == VALUES
    assert strings.length(arrays, "titles") == len(VALUES)


def test_an_empty_column():
    arrays = strings.encode("ids", [])
    assert strings.column(arrays, "ids") == [] and strings.length(arrays, "ids") == 0
    np.testing.assert_array_equal(arrays["ids_offsets"], [0])


def test_the_fixed_width_layout_of_older_versions_reads_the_same():
    legacy = {"titles": np.asarray(VALUES, dtype=str)}
    assert strings.column(legacy, "titles") == [v.rstrip("\x00") for v in VALUES]
    assert strings.length(legacy, "titles") == len(VALUES)


def test_a_column_built_one_by_one_equals_one_encoded_at_once():
    column = strings.StringColumn()
    for value in VALUES:
        column.append(value)
    built, encoded = column.arrays("t"), strings.encode("t", VALUES)
    for name in encoded:
        np.testing.assert_array_equal(built[name], encoded[name])
