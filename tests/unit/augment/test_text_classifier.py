"""The uplift experiment's sentence-embedding text classifier (``classifier="embedding-lr"``)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from simulacra.augment import run_text_uplift
from simulacra.augment.models import fit_text_model
from simulacra.errors import InputError


def _texts() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    good, bad = ["good", "great", "fun", "lovely"], ["bad", "dull", "awful", "boring"]
    rows = []
    for i in range(80):
        label = "pos" if i % 2 else "neg"
        words = list(rng.choice(good if i % 2 else bad, 2)) + ["film", "plot"]
        rows.append({"t": " ".join(words), "y": label})
    return pd.DataFrame(rows)


class CountingEmbedder:
    """Two features: how many positive and how many negative words; counts the texts it embeds."""

    name = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts) -> np.ndarray:  # type: ignore[no-untyped-def]
        texts = [str(t) for t in texts]
        self.seen.extend(texts)
        pos = [sum(w in ("good", "great", "fun", "lovely") for w in t.split()) for t in texts]
        neg = [sum(w in ("bad", "dull", "awful", "boring") for w in t.split()) for t in texts]
        return np.column_stack([pos, neg]).astype(float)


def test_embedding_classifier_uses_the_embedder() -> None:
    data = _texts()
    emb = CountingEmbedder()
    model = fit_text_model(data["t"], data["y"], seed=0, model="embedding-lr", embedder=emb)
    assert set(emb.seen) == set(data["t"])
    assert (model.predict(np.array(["great fun film"])) == "pos").all()


def test_uplift_with_the_embedding_classifier() -> None:
    data = _texts()
    res = run_text_uplift(data, data, "t", "y", methods=["none"], repeats=2, classifier="embedding-lr",
                          embedder=CountingEmbedder())
    assert res.info["classifier"] == "embedding-lr" and "counting" in res.info["model"]
    assert (res.runs["accuracy"] == 1.0).all()


def test_unknown_classifier_is_refused() -> None:
    data = _texts()
    with pytest.raises(InputError, match="classifier"):
        run_text_uplift(data, data, "t", "y", methods=["none"], repeats=1, classifier="bert")
    with pytest.raises(InputError, match="text model"):
        fit_text_model(data["t"], data["y"], seed=0, model="bert")


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs the llm extra")
def test_local_embedder_gives_normalized_cached_vectors() -> None:
    from simulacra.text.embed import LocalEmbedder

    emb = LocalEmbedder()
    vecs = emb(["a fine film", "a dull film", "a fine film"])
    assert vecs.shape[0] == 3 and vecs.shape[1] > 100
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert np.array_equal(vecs[0], vecs[2]) and not np.array_equal(vecs[0], vecs[1])
    assert len(emb._cache) == 2
