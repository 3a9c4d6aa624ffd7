"""The downstream models of the uplift experiment and the metrics that matter for classification."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.evaluate.features import ModelFeatures

#: Metrics reported for every run, in this order; the first is the headline.
METRICS = ("macro_f1", "minority_f1", "pr_auc", "roc_auc", "accuracy")


def table_features(train: pd.DataFrame, target: str) -> ModelFeatures:
    """The features a model may learn from: every column but the target, id-like and free-text ones, typed by
    detection (the same features, and label cap, as the evaluation's utility models)."""
    return ModelFeatures.detect(train, exclude=(target,))


def fit_table_model(train: pd.DataFrame, target: str, features: ModelFeatures, seed: int) -> tuple[Any, ModelFeatures]:
    """Gradient boosting (scikit-learn's HistGradientBoostingClassifier, defaults) on ``features`` of ``train``.

    Returns the model and the fitted features; score a table with ``model.predict_proba(feats.transform(t))``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    fitted = ModelFeatures(features.types, features.formats).fit(train)
    mask = fitted.is_categorical
    model = HistGradientBoostingClassifier(categorical_features=mask if mask.any() else None, random_state=seed)
    model.fit(fitted.transform(train), train[target].astype("string").to_numpy())
    return model, fitted


TEXT_MODELS = ("tfidf-lr", "embedding-lr")


def fit_text_model(texts: pd.Series, labels: pd.Series, seed: int, model: str = "tfidf-lr",
                   class_weight: str | None = None, embedder: Any = None) -> Any:
    """The text model of the experiment, fitted on ``texts``.

    ``tfidf-lr``: TF-IDF (words, scikit-learn defaults) with logistic regression. ``embedding-lr``:
    logistic regression (C = 10) over sentence embeddings from ``embedder`` (a function from texts to
    an array; the embedded local model when None). ``class_weight='balanced'`` weighs classes
    inversely to their frequency.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    x = texts.astype("string").fillna("").to_numpy()
    y = labels.astype("string").to_numpy()
    if model == "tfidf-lr":
        from sklearn.feature_extraction.text import TfidfVectorizer

        pipe = make_pipeline(TfidfVectorizer(),
                             LogisticRegression(max_iter=2000, random_state=seed, class_weight=class_weight))
        return pipe.fit(x, y)
    if model == "embedding-lr":
        if embedder is None:
            from simulacra.text.embed import LocalEmbedder

            embedder = LocalEmbedder()
        pipe = make_pipeline(FunctionTransformer(embedder),
                             LogisticRegression(C=10.0, max_iter=5000, random_state=seed, class_weight=class_weight))
        return pipe.fit(x, y)
    raise InputError(f"Unknown text model {model!r}; available: {', '.join(TEXT_MODELS)}")


def minority_class(labels: pd.Series) -> str:
    """The rarest class of the training labels (ties broken by name), as text."""
    counts = labels.astype("string").value_counts()
    return str(min(counts[counts == counts.min()].index))


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray, minority: str) -> dict[str, float]:
    """Macro F1, minority-class F1, PR AUC and ROC AUC (minority vs rest when binary, else macro
    one-vs-rest) and accuracy, from class probabilities.

    Examples
    --------
    >>> y = np.array(["a", "a", "b", "b"]); p = np.array([[.9, .1], [.6, .4], [.3, .7], [.45, .55]])
    >>> m = classification_metrics(y, p, np.array(["a", "b"]), "b")
    >>> m["accuracy"], m["roc_auc"]
    (1.0, 1.0)
    """
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score

    y_true = np.asarray(y_true).astype(str)
    classes = np.asarray(classes).astype(str)
    pred = classes[np.argmax(proba, axis=1)]
    out = {
        "macro_f1": float(f1_score(y_true, pred, average="macro", labels=classes, zero_division=0)),
        "minority_f1": float(f1_score(y_true == minority, pred == minority, zero_division=0)),
        "accuracy": float(accuracy_score(y_true, pred)),
    }
    present = [i for i, c in enumerate(classes) if 0 < (y_true == c).sum() < len(y_true)]
    if len(classes) == 2:
        k = int(np.flatnonzero(classes == minority)[0]) if minority in classes else 1
        pos = y_true == classes[k]
        ok = 0 < pos.sum() < len(pos)
        out["pr_auc"] = float(average_precision_score(pos, proba[:, k])) if ok else float("nan")
        out["roc_auc"] = float(roc_auc_score(pos, proba[:, k])) if ok else float("nan")
    else:
        out["pr_auc"] = float(np.mean([average_precision_score(y_true == classes[i], proba[:, i]) for i in present])) if present else float("nan")
        out["roc_auc"] = float(np.mean([roc_auc_score(y_true == classes[i], proba[:, i]) for i in present])) if present else float("nan")
    return {k: out[k] for k in METRICS}


def evaluate_model(model: Any, x_test: Any, y_test: pd.Series, minority: str) -> dict[str, float]:
    """Metrics of a fitted scikit-learn classifier on the real test set."""
    proba = model.predict_proba(x_test)
    return classification_metrics(y_test.astype("string").to_numpy(), proba, np.asarray(model.classes_), minority)
