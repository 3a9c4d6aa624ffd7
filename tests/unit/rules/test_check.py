"""Rule checks on the values as a table holds them (text dates included)."""

from __future__ import annotations

import pandas as pd

from simulacra.rules.check import as_float, rule_mask


def test_day_first_text_dates_are_compared_as_the_dates_they_are() -> None:
    # regression: text dates were read one by one, so 06/01/2020 (6 January, beside 13/01/2020) read as
    # 1 June and a row with start 06/01/2020 <= end 14/01/2020 was counted as breaking the rule
    df = pd.DataFrame({"start": ["06/01/2020", "13/01/2020", "02/03/2020", "09/03/2020"],
                       "end": ["14/01/2020", "20/01/2020", "10/03/2020", "01/03/2020"]})
    assert rule_mask({"kind": "inequality", "low": "start", "high": "end"}, df).tolist() == [True, True, True, False]


def test_text_dates_with_several_offsets_are_instants() -> None:
    seconds = as_float(pd.Series(["2020-01-01T00:00:00+01:00", "2020-06-01T00:00:00+02:00", None]))
    assert seconds[:2].tolist() == [1577833200.0, 1590962400.0] and pd.isna(seconds[2])
