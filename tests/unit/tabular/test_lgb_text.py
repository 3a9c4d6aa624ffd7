"""A damaged LightGBM model text in a model file is refused with a ModelFileError, never a dead process.

Unchecked, ``lgb.Booster(model_str=...)`` (LightGBM 4.7) killed the process (SIGABRT or SIGSEGV) or looped
for ever on each damage in ``DAMAGES`` but three: a categorical split without its bitset and a bitset index
past ``num_cat`` read out of bounds without a crash (undefined behaviour), and a ``num_class`` of two
billion asked for a terabyte. They were found by ``benchmarks/fuzz_models.py --raw``. They run in a child
process, so that a regression shows up as a failed test naming the damage, not as a killed test run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from simulacra.errors import ModelFileError
from simulacra.tabular._boosted import BoostedConditional
from simulacra.tabular._lgb_text import checked_model_text, load_booster
from simulacra.testing.lgb_fuzz import close_loaders, lgb_text_case
from simulacra.testing.model_fuzz import members, model_texts, outcomes_in_child, real_archive, rezip


def _line(text: str, key: str, tree: int = 0) -> str:
    block = text[text.index(f"Tree={tree}\n") :]
    return next(line for line in block.split("\n") if line.startswith(key + "="))


def _replace_line(key: str, edit: Callable[[list[str]], list[str]], tree: int = 0) -> Callable[[str], str]:
    def damage(text: str) -> str:
        old = _line(text, key, tree)
        new = f"{key}=" + " ".join(edit(old.split("=", 1)[1].split(" ")))
        block = text.index(f"Tree={tree}\n")
        return text[:block] + text[block:].replace(old, new, 1)

    return damage


def _categorical_tree(text: str) -> int:
    return next(int(m.group(1)) for m in re.finditer(r"Tree=(\d+)\nnum_leaves=\d+\nnum_cat=[1-9]", text))


#: damage -> how it is done to a real text (the regression text of an autoreg model, with a categorical split)
DAMAGES: dict[str, Callable[[str], str]] = {
    "child index pointing back (a cycle)": _replace_line("left_child", lambda v: ["0", *v[1:]]),
    "child index past the last node": _replace_line("left_child", lambda v: ["99", *v[1:]]),
    "leaf index past the last leaf": _replace_line("right_child", lambda v: [*v[:-1], "-99"]),
    "split on a feature past max_feature_idx": _replace_line("split_feature", lambda v: ["40", *v[1:]]),
    "array shorter than num_leaves": _replace_line("leaf_value", lambda v: v[:-1]),
    "array longer than num_leaves - 1": _replace_line("threshold", lambda v: [*v, v[-1]]),
    "num_leaves far past the arrays": lambda t: t.replace("num_leaves=", "num_leaves=2147483", 1),
    "tree_sizes pointing past the text": lambda t: re.sub(
        r"tree_sizes=(.*)", lambda m: "tree_sizes=" + " ".join(str(int(s) * 50) for s in m.group(1).split()), t),
    "categorical split without a bitset": lambda t: _replace_line(
        "decision_type", lambda v: ["1", *v[1:]], tree=0)(t),
    "bitset index past num_cat": lambda t: _replace_line(
        "threshold", lambda v: ["7", *v[1:]], tree=_categorical_tree(t))(t),
    "tree line without '=' (lines run together)": lambda t: t.replace("num_cat=0\n", "num_cat0\n", 1),
    "NUL byte": lambda t: t.replace("shrinkage=", "shrinkage=1\x00", 1),
    "parameters section cut short": lambda t: t[: t.index("[num_gpu")] + "[num_gpu",
    "parameter line without ':'": lambda t: t.replace("[num_gpu: 1]", "[num_gpu 1]"),
    "num_class of two billion": lambda t: t.replace("num_class=1", "num_class=2147483647", 1),
}
#: damages that only touch what simulacra does not hand to LightGBM: the model loads (and predicts)
HARMLESS = {"parameters section cut short", "parameter line without ':'"}

_LOAD_AND_PREDICT = """
    import numpy as np
    from simulacra.tabular._boosted import BoostedMean
    text, n_features = case
    model = BoostedMean.from_state({"kind": "mean", "model": text})
    X = np.random.default_rng(0).integers(-1, 5, (64, n_features)).astype(float)
    X[::5, 0] = np.nan
    model.predict(X)
"""


@pytest.fixture(scope="module")
def regression_text() -> str:
    """A real autoreg model's boosted mean with a categorical split and a plain tree, so that every damage
    applies. Which fit has one depends on the model's random draws (early stopping may keep one tree), so
    a few fits of the example table are tried."""
    for params in ({}, {"complexity": "fixed"}, {"boosted_classes": 0}):
        for text in model_texts("autoreg", **params):
            if "objective=regression" in text and re.search("num_cat=[1-9]", text) \
                    and all(damage(text) != text for damage in DAMAGES.values()):
                return text
    raise AssertionError("no boosted mean of the example table takes every damage")


def _n_features(text: str) -> int:
    return int(re.search(r"max_feature_idx=(\d+)", text).group(1)) + 1  # type: ignore[union-attr]


def test_real_texts_load_and_predict_as_lightgbm_would() -> None:
    for text in model_texts("autoreg"):
        X = np.random.default_rng(1).integers(-1, 5, (200, _n_features(text))).astype(float)
        X[::3, 0] = np.nan
        assert np.array_equal(load_booster(text).predict(X), lgb.Booster(model_str=text).predict(X))


def test_each_damage_that_crashed_lightgbm_is_a_clear_error(regression_text: str, tmp_path: Path) -> None:
    cases = {name: (damage(regression_text), _n_features(regression_text)) for name, damage in DAMAGES.items()}
    assert all(text != regression_text for text, _ in cases.values())  # each damage applies
    done = outcomes_in_child(cases, _LOAD_AND_PREDICT, tmp_path, timeout=120)
    for name in DAMAGES:
        expected = "ok" if name in HARMLESS else "clear: The model file is corrupt"
        assert done[name].startswith(expected), (name, done[name])
        assert "\n" not in done[name]


def test_a_damaged_text_in_a_whole_model_file(tmp_path: Path) -> None:
    """Through ``load``, with the archive's checksums recomputed (as an attacker would)."""
    from simulacra.tabular.persistence import load

    parts = members(real_archive("autoreg"))
    state = json.loads(parts["state.json"])
    mean = next(p["mean"] for p in state["state"]["models"].values() if "mean" in p)
    mean["model"] = DAMAGES["child index past the last node"](mean["model"])
    parts["state.json"] = json.dumps(state).encode()
    path = tmp_path / "damaged.model"
    path.write_bytes(rezip(parts, resum=True))
    with pytest.raises(ModelFileError, match="its LightGBM model tree [0-9]+ has a child index past its [0-9]+ nodes"):
        load(path)


def test_random_damages_never_kill_the_loading_process(tmp_path: Path) -> None:
    """A few hundred random damages (the benchmark runs thousands), each loaded in a child process."""
    try:
        outcomes = [lgb_text_case(seed, tmp_path)[0] for seed in range(300)]
    finally:
        close_loaders()
    assert not [o for o in outcomes if o.startswith("BUG")]
    assert {"ok", "clear error"} <= set(outcomes)


@pytest.mark.parametrize(("classes", "n_cells", "message"), [
    ([0, 1, 2], 5, r"1 output\(s\) per row for 3 classes"), ([0, 7], 5, "classes outside"), ([1, 1], 5, "classes outside"),
])
def test_classes_that_do_not_fit_the_booster(classes: list[int], n_cells: int, message: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.random((500, 2))
    binary = BoostedConditional.fit(X, (X[:, 0] > 0.5).astype(int), n_cells=2, min_samples_leaf=20, rng=rng).get_state()["model"]
    assert "objective=binary" in binary
    with pytest.raises(ModelFileError, match=message):
        BoostedConditional.from_state({"kind": "boosted", "model": binary, "classes": classes, "n_cells": n_cells})


def test_class_frequencies_that_do_not_fit() -> None:
    with pytest.raises(ModelFileError, match="class frequencies"):
        BoostedConditional.from_state({"kind": "boosted", "model": "", "classes": [0], "n_cells": 3, "prior": [1.0]})


def test_the_check_reads_what_lightgbm_writes_for_one_leaf_trees() -> None:
    X = np.zeros((100, 2))
    booster = lgb.train({"verbose": -1, "objective": "regression"}, lgb.Dataset(X, np.ones(100)), num_boost_round=2)
    text = booster.model_to_string()
    assert "num_leaves=1" in text
    assert checked_model_text(text).startswith("tree\n")


def test_a_model_widened_consistently_is_refused_when_it_predicts(regression_text: str) -> None:
    """A header that claims one more feature (names and infos too) is a valid text, but it does not fit the
    rows the model is given: LightGBM's refusal is a ModelFileError."""
    from simulacra.tabular._boosted import BoostedMean

    n = _n_features(regression_text)
    wider = re.sub(r"max_feature_idx=\d+", f"max_feature_idx={n}", regression_text)
    wider = re.sub(r"(feature_names=.*)", rf"\1 Column_{n}", wider)
    wider = re.sub(r"(feature_infos=.*)", r"\1 none", wider)
    model = BoostedMean.from_state({"kind": "mean", "model": wider})
    with pytest.raises(ModelFileError, match="LightGBM refused to predict"):
        model.predict(np.zeros((5, n)))
    assert model.predict(np.zeros((5, n + 1))).shape == (5,)


def test_infinite_thresholds_as_lightgbm_writes_them_load(regression_text: str) -> None:
    """LightGBM writes ``threshold=inf`` for a split that sends every non-missing value one way (a relational
    model's orders table had one); the check must not refuse it."""
    unsized = re.sub(r"tree_sizes=.*\n", "", regression_text)  # optional; the edit changes the sizes
    text = _replace_line("threshold", lambda v: ["inf", *v[1:]])(unsized)
    X = np.random.default_rng(2).integers(-1, 5, (100, _n_features(text))).astype(float)
    assert np.array_equal(load_booster(text).predict(X), lgb.Booster(model_str=text).predict(X))
    with pytest.raises(ModelFileError, match="leaf_value has 'inf'"):
        load_booster(_replace_line("leaf_value", lambda v: ["inf", *v[1:]])(unsized))


def test_bitset_words_use_all_32_bits(regression_text: str) -> None:
    """A categorical split's bitset words are unsigned 32-bit: LightGBM writes words above 2**31 for
    category codes 31, 63, ... (a real flights table had them); the check must not refuse them."""
    unsized = re.sub(r"tree_sizes=.*\n", "", regression_text)
    text = _replace_line("cat_threshold", lambda v: ["2921405011", *v[1:]], tree=_categorical_tree(unsized))(unsized)
    X = np.random.default_rng(3).integers(-1, 40, (200, _n_features(text))).astype(float)
    assert np.array_equal(load_booster(text).predict(X), lgb.Booster(model_str=text).predict(X))
    with pytest.raises(ModelFileError, match="cat_threshold is '4294967296'"):
        load_booster(_replace_line("cat_threshold", lambda v: ["4294967296", *v[1:]],
                                   tree=_categorical_tree(unsized))(unsized))
