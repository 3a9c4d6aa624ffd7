"""A strict check of LightGBM model text before LightGBM's own parser reads it.

LightGBM's C++ parser trusts its input: a child index out of range, a split on a feature past the end,
a categorical split without its bitset, a ``tree_sizes`` pointing past the text or a line without ``=``
makes it read out of bounds (the process dies) or loop for ever, at load or at the first prediction.
A model file is untrusted input, so :func:`load_booster` checks the whole structure first and hands
LightGBM only the parts it checked (header and trees; the ``parameters:`` section, which prediction
does not need, is left out). Anything wrong is a :class:`~simulacra.errors.ModelFileError`.
"""

from __future__ import annotations

import math
import re
from typing import Any

from simulacra.errors import ModelFileError
from simulacra.tabular._tree_arrays import check_lightgbm_children

MAX_LEAVES = 131072  # LightGBM's own upper bound of num_leaves
MAX_FEATURES = 1_000_000
MAX_CLASSES = 100_000

_INT = re.compile(r"-?\d{1,10}")
_FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PRINTABLE = re.compile(r"[\x20-\x7e\n]*")
_OBJECTIVES = {"regression", "regression_l1", "huber", "fair", "poisson", "quantile", "mape", "gamma",
               "tweedie", "binary", "multiclass", "multiclassova", "cross_entropy", "cross_entropy_lambda"}
_HEADER = ("version", "num_class", "num_tree_per_iteration", "label_index", "max_feature_idx", "objective",
           "average_output", "feature_names", "monotone_constraints", "feature_infos", "tree_sizes")
# per-tree arrays: name -> (length: "leaves" or "nodes", element type)
_ARRAYS = {
    "split_feature": ("nodes", "int"), "split_gain": ("nodes", "float"), "threshold": ("nodes", "float"),
    "decision_type": ("nodes", "int"), "left_child": ("nodes", "int"), "right_child": ("nodes", "int"),
    "internal_value": ("nodes", "float"), "internal_weight": ("nodes", "float"),
    "internal_count": ("nodes", "int"),
    "leaf_value": ("leaves", "float"), "leaf_weight": ("leaves", "float"), "leaf_count": ("leaves", "int"),
}
_TREE_KEYS = {*_ARRAYS, "num_leaves", "num_cat", "cat_boundaries", "cat_threshold", "is_linear", "shrinkage"}
_MAX_TREE_LINES = 22  # LightGBM reads at most this many lines of a tree


class _Bad(Exception):
    """One structural problem (turned into a ModelFileError with the model's name)."""


def _int(text: str, what: str, lo: int, hi: int) -> int:
    if not _INT.fullmatch(text) or not lo <= int(text) <= hi:
        raise _Bad(f"{what} is {text[:20]!r}, not a whole number from {lo} to {hi}")
    return int(text)


#: arrays where LightGBM itself writes ``inf``/``-inf`` (a split that sends every non-missing value one way)
_INF_OK = {"threshold", "split_gain", "internal_value", "internal_weight", "leaf_weight"}


def _float(text: str, what: str, *, inf: bool = False) -> float:
    if inf and text in ("inf", "-inf", "+inf"):
        return float(text)
    if not _FLOAT.fullmatch(text) or not math.isfinite(float(text)):
        raise _Bad(f"{what} has {text[:20]!r}, not a finite number")
    return float(text)


def _array(text: str, what: str, kind: str, length: int) -> list[Any]:
    items = text.split(" ") if text else []
    if len(items) != length:
        raise _Bad(f"{what} has {len(items)} values where {length} are needed")
    if kind == "int":
        return [_int(v, what, -(2**31), 2**31 - 1) for v in items]
    if kind == "uint32":  # the words of categorical bitsets
        return [_int(v, what, 0, 2**32 - 1) for v in items]
    inf = what.rsplit(" ", 1)[-1] in _INF_OK
    return [_float(v, what, inf=inf) for v in items]


def _header(lines: list[str]) -> dict[str, str]:
    if not lines or lines[0] != "tree":
        raise _Bad("it does not start with LightGBM's 'tree' line")
    out: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        key, eq, value = line.partition("=")
        if key not in _HEADER or key in out or ("=" in value and key != "feature_names"):
            raise _Bad(f"unexpected header line {line[:40]!r}")
        if key != "average_output" and not eq:
            raise _Bad(f"header line {line[:40]!r} has no value")
        out[key] = value
    for key in ("version", "num_class", "label_index", "max_feature_idx", "objective", "feature_names",
                "feature_infos"):
        if key not in out:
            raise _Bad(f"the header has no {key}")
    return out


def _check_header(h: dict[str, str]) -> tuple[int, int]:
    """(number of features, trees per iteration)."""
    if h["version"] not in ("v3", "v4"):
        raise _Bad(f"version {h['version'][:10]!r} is not one this LightGBM reads")
    n_class = _int(h["num_class"], "num_class", 1, MAX_CLASSES)
    per_iter = _int(h.get("num_tree_per_iteration", h["num_class"]), "num_tree_per_iteration", 1, MAX_CLASSES)
    if per_iter != n_class:
        raise _Bad(f"num_tree_per_iteration ({per_iter}) differs from num_class ({n_class})")
    _int(h["label_index"], "label_index", 0, MAX_FEATURES)
    n_features = _int(h["max_feature_idx"], "max_feature_idx", 0, MAX_FEATURES - 1) + 1
    name, *args = h["objective"].split(" ")
    if name not in _OBJECTIVES:
        raise _Bad(f"objective {name[:20]!r} is not a LightGBM objective simulacra can load")
    values = {}
    for arg in args:
        key, colon, value = arg.partition(":")
        if arg == "sqrt":
            continue
        if not colon or not re.fullmatch(r"[a-z_]+", key):
            raise _Bad(f"objective argument {arg[:20]!r} is malformed")
        values[key] = _float(value, f"objective argument {key}")
    if name.startswith("multiclass") and values.get("num_class") != n_class:
        raise _Bad("the objective's num_class differs from the header's")
    if not name.startswith("multiclass") and n_class != 1:
        raise _Bad(f"num_class is {n_class} for a {name} objective")
    if name == "binary" and not values.get("sigmoid", 0.0) > 0:
        raise _Bad("the binary objective needs a positive sigmoid")
    if len(h["feature_names"].split(" ")) != n_features or not all(h["feature_names"].split(" ")):
        raise _Bad("feature_names does not name max_feature_idx + 1 features")
    infos = h["feature_infos"].split(" ")
    if len(infos) != n_features:
        raise _Bad("feature_infos does not describe max_feature_idx + 1 features")
    for info in infos:
        if info == "none":
            continue
        if info.startswith("[") and info.endswith("]"):
            lo, colon, hi = info[1:-1].partition(":")
            if colon and _FLOAT.fullmatch(lo) and _FLOAT.fullmatch(hi):
                continue
        elif all(_INT.fullmatch(v) for v in info.split(":")):
            continue
        raise _Bad(f"feature_infos has {info[:20]!r}")
    if "monotone_constraints" in h:
        _array(h["monotone_constraints"], "monotone_constraints", "int", n_features)
        if any(v not in ("-1", "0", "1") for v in h["monotone_constraints"].split(" ")):
            raise _Bad("monotone_constraints has values other than -1, 0 and 1")
    return n_features, per_iter


def _check_tree(block: list[str], where: str, n_features: int) -> None:
    """One tree's ``key=value`` lines (after its ``Tree=`` line, before its blank line)."""
    if len(block) > _MAX_TREE_LINES:
        raise _Bad(f"{where} has {len(block)} lines, more than LightGBM reads")
    kv: dict[str, str] = {}
    for line in block:
        key, eq, value = line.partition("=")
        if not eq or key not in _TREE_KEYS or key in kv:
            raise _Bad(f"{where} has an unexpected line {line[:40]!r}")
        kv[key] = value
    for key in ("num_leaves", "num_cat", "leaf_value"):
        if key not in kv:
            raise _Bad(f"{where} has no {key}")
    leaves = _int(kv["num_leaves"], f"{where} num_leaves", 1, MAX_LEAVES)
    nodes = leaves - 1
    n_cat = _int(kv["num_cat"], f"{where} num_cat", 0, nodes)
    if kv.get("is_linear", "0") != "0":
        raise _Bad(f"{where} is a linear tree, which simulacra never writes")
    if "shrinkage" in kv:
        _float(kv["shrinkage"], f"{where} shrinkage")
    if nodes:
        for key in ("left_child", "right_child", "split_feature", "threshold"):
            if key not in kv:
                raise _Bad(f"{where} has no {key}")
    if not nodes:  # LightGBM reads only leaf_value and leaf_count of a stump (and writes the rest empty)
        for key in kv.keys() & _ARRAYS.keys():
            size, kind = _ARRAYS[key]
            if kv[key] or key == "leaf_value":
                _array(kv[key], f"{where} {key}", kind, 1 if size == "leaves" else 0)
        return
    arrays = {key: _array(kv[key], f"{where} {key}", kind, leaves if size == "leaves" else nodes)
              for key, (size, kind) in _ARRAYS.items() if key in kv}
    if any(not 0 <= f < n_features for f in arrays["split_feature"]):
        raise _Bad(f"{where} splits on a feature past max_feature_idx")
    check_lightgbm_children(arrays["left_child"], arrays["right_child"], leaves, what=f"its LightGBM model {where}")
    decision = arrays.get("decision_type", [0] * nodes)
    if any(d & ~0b1111 or (d >> 2) & 3 == 3 for d in decision):
        raise _Bad(f"{where} has an unknown decision_type")
    categorical = [i for i, d in enumerate(decision) if d & 1]
    if len(categorical) != n_cat:
        raise _Bad(f"{where} has {len(categorical)} categorical splits but num_cat={n_cat}")
    if sorted(arrays["threshold"][i] for i in categorical) != list(range(n_cat)):
        raise _Bad(f"{where} has categorical splits that do not index its num_cat bitsets")
    if n_cat:
        for key in ("cat_boundaries", "cat_threshold"):
            if key not in kv:
                raise _Bad(f"{where} has categorical splits but no {key}")
        bounds = _array(kv["cat_boundaries"], f"{where} cat_boundaries", "int", n_cat + 1)
        if bounds[0] != 0 or any(b <= a for a, b in zip(bounds, bounds[1:], strict=False)):
            raise _Bad(f"{where} cat_boundaries is not increasing from 0")
        _array(kv["cat_threshold"], f"{where} cat_threshold", "uint32", bounds[-1])
    elif "cat_boundaries" in kv or "cat_threshold" in kv:
        raise _Bad(f"{where} has categorical bitsets but num_cat=0")


def checked_model_text(text: str) -> str:
    """The part of a LightGBM model text that prediction needs, after checking all of its structure.

    Raises :class:`ModelFileError` with what is wrong; the result is safe to give ``lgb.Booster``.
    """
    try:
        return _checked(text)
    except _Bad as exc:
        raise ModelFileError.corrupt(f"its LightGBM model {exc}") from None


def _checked(text: str) -> str:
    if not isinstance(text, str) or not _PRINTABLE.fullmatch(text):
        raise _Bad("text has characters LightGBM never writes")
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("Tree=")]
    try:
        end = lines.index("end of trees")
    except ValueError:
        raise _Bad("text has no 'end of trees' line (cut short?)") from None
    first = starts[0] if starts else end
    header = _header(lines[:first])
    n_features, per_iter = _check_header(header)
    if any(s > end for s in starts):
        raise _Bad("text has a tree after 'end of trees'")
    if len(starts) % per_iter:
        raise _Bad(f"text has {len(starts)} trees, not a multiple of {per_iter} per iteration")
    sizes = []
    for number, (start, stop) in enumerate(zip(starts, [*starts[1:], end], strict=True)):
        where = f"tree {number}"
        if lines[start] != f"Tree={number}":
            raise _Bad(f"{where} is labelled {lines[start][:20]!r}")
        body = lines[start + 1 : stop]
        blank = body.index("") if "" in body else len(body)
        if any(body[blank:]):
            raise _Bad(f"{where} has lines after its blank line")
        _check_tree(body[:blank], where, n_features)
        sizes.append(sum(len(line) + 1 for line in lines[start:stop]))
    if "tree_sizes" in header:
        if header["tree_sizes"] != " ".join(map(str, sizes)):
            raise _Bad("tree_sizes does not match the trees")
    # header and trees, as checked; no parameters section (prediction does not use it)
    return "\n".join([*lines[:first], *lines[first:end], "end of trees", ""])


def load_booster(text: str) -> Any:
    """A ``lightgbm.Booster`` from model text that passed :func:`checked_model_text`.

    >>> import lightgbm as lgb, numpy as np
    >>> X = np.random.default_rng(0).random((200, 2)); y = X[:, 0] + X[:, 1]
    >>> booster = lgb.train({"verbose": -1, "num_leaves": 4}, lgb.Dataset(X, y), num_boost_round=3)
    >>> again = load_booster(booster.model_to_string())
    >>> bool(np.allclose(again.predict(X), booster.predict(X)))
    True
    >>> load_booster("tree\\nversion=v4")
    Traceback (most recent call last):
    ...
    simulacra.errors.ModelFileError: The model file is corrupt: its LightGBM model text has no 'end of trees' line (cut short?). Re-fit the model and save it again.
    """
    import lightgbm as lgb

    checked = checked_model_text(text)
    try:
        return lgb.Booster(model_str=checked)
    except lgb.basic.LightGBMError as exc:
        raise ModelFileError.corrupt(f"LightGBM refused its model ({str(exc)[:120]})") from None


def booster_predict(booster: Any, X: Any, **options: Any) -> Any:
    """``booster.predict(X, ...)`` at its best iteration; LightGBM's refusal (rows of another width than a
    loaded model's ``max_feature_idx`` says) is a :class:`ModelFileError`, not an error from inside LightGBM.
    """
    import lightgbm as lgb

    try:
        return booster.predict(X, num_iteration=booster.best_iteration or None, **options)
    except lgb.basic.LightGBMError as exc:
        raise ModelFileError.corrupt(
            f"LightGBM refused to predict with it ({str(exc)[:120]}), so its trees do not fit its columns"
        ) from None
