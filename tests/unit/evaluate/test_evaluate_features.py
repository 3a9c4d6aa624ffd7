"""Model features: one builder for the evaluation's models and the augmentation's downstream models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import NotFittedError
from simulacra.evaluate.context import prepare
from simulacra.evaluate.features import MAX_MODEL_LABELS, ModelFeatures, model_matrix


def _many_labels(n: int = 2_000, k: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, k + 1)
    return pd.DataFrame({
        "city": rng.choice([f"c{i:03d}" for i in range(k)], n, p=weights / weights.sum()),
        "x": rng.normal(size=n),
        "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
        "flag": rng.random(n) < 0.4,
    })


def test_frame_features_and_evaluation_matrix_keep_the_same_labels() -> None:
    real = _many_labels()
    ctx = prepare(real, real.copy())
    mats, is_cat = model_matrix(ctx, ["city", "x", "when", "flag"], {"real": None})
    feats = ModelFeatures.detect(real).fit(real)
    assert feats.columns == ["city", "x", "when", "flag"] and feats.is_categorical.tolist() == is_cat.tolist()
    np.testing.assert_array_equal(feats.transform(real), mats["real"])
    city = feats.transform(real)[:, 0]
    assert np.nanmax(city) == MAX_MODEL_LABELS  # 250 labels kept, the rest share one code
    counts = real["city"].value_counts()
    common = real["city"] == counts.index[0]
    assert (city[common] == 0).all()  # the most frequent label gets code 0


def test_unseen_and_missing_labels() -> None:
    train = pd.DataFrame({"c": ["a", "b", "a", None], "n": ["1.5", "2", "n/a", "4"]})
    feats = ModelFeatures({"c": "categorical", "n": "numerical"}).fit(train)
    out = feats.transform(pd.DataFrame({"c": ["b", "zzz", None], "n": ["3", None, "x"]}))
    assert out[0].tolist() == [1.0, 3.0]
    assert out[1, 0] == 2.0 and np.isnan(out[2, 0])  # unseen -> the code of the rest; missing -> NaN
    assert np.isnan(out[1:, 1]).all()


def test_transform_before_fit_is_refused() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        ModelFeatures({"x": "numerical"}).transform(pd.DataFrame({"x": [1.0]}))


def test_augment_uses_the_evaluation_features() -> None:
    from simulacra.augment import models

    data = _many_labels().assign(y=lambda d: np.where(d.x > 0, "p", "n"))
    feats = models.table_features(data, "y")
    assert isinstance(feats, ModelFeatures) and "y" not in feats.columns
    model, fitted = models.fit_table_model(data, "y", feats, seed=0)
    assert model.predict_proba(fitted.transform(data)).shape == (len(data), 2)
    assert model.score(fitted.transform(data), data["y"]) > 0.9
