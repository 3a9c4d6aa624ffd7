"""A Gaussian mixture over the normal scores of the table (a copula with several components)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from simulacra.tabular.base import BaseSynthesizer, resolve_seed
from simulacra.tabular.registry import register
from simulacra.tabular.scores import decode_scores, fit_scores, marginals_from_state, marginals_state
from simulacra.transform import TableTransformer

#: Rows used to choose the number of components by BIC.
SELECTION_ROWS = 10000


@register
class GaussianMixtureSynthesizer(BaseSynthesizer):
    """Gaussian mixture over normal scores: local correlations where the copula has one global one.

    Each column is mapped to standard normal scores through its empirical distribution (categories
    included, with an extra score for missingness, as in the copula); a mixture of full-covariance
    Gaussians is fitted to the scores, its number of components chosen by BIC (or pruned by a
    Bayesian mixture), and samples are mapped back through each column's quantile function.

    Parameters
    ----------
    metadata : Metadata, dict or path, optional
        Column types; detected from the data when omitted.
    random_state : int, optional
        Seed; the same seed gives the same rows.
    min_category_count : int, default 5
        Privacy floor: categories seen in fewer rows, and numbers beyond the k-th smallest/largest,
        are never reproduced verbatim (1 turns it off).
    max_components : int, default 32
        Largest number of components tried.
    selection : {"bic", "bayesian"}, default "bic"
        How the number of components is chosen.
    max_fit_rows : int, default 10000
        The mixture is fitted on at most this many rows (a random subset of larger tables).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": range(200), "g": ["a", "b"] * 100})
    >>> GaussianMixtureSynthesizer(random_state=0).fit(df).sample(3).shape
    (3, 2)
    """

    name = "gmm"
    default_rank = 4

    def __init__(
        self,
        *,
        metadata: Any = None,
        random_state: int | None = None,
        min_category_count: int = 5,
        max_components: int = 32,
        selection: str = "bic",
        max_fit_rows: int = 10000,
    ) -> None:
        self.metadata = metadata
        self.random_state = random_state
        self.min_category_count = min_category_count
        self.max_components = max_components
        self.selection = selection
        self.max_fit_rows = max_fit_rows

    def _fit(self, data: pd.DataFrame) -> None:
        from sklearn.mixture import BayesianGaussianMixture, GaussianMixture

        from simulacra.errors import InputError

        if self.selection not in ("bic", "bayesian"):
            raise InputError(f"selection must be 'bic' or 'bayesian', got {self.selection!r}")
        seed = resolve_seed(self.random_state)
        rng = np.random.default_rng(seed)
        self.transformer_ = TableTransformer(self.model_metadata_, min_category_count=self.min_category_count).fit(data)
        self.dims_, self.marginals_, z = fit_scores(self.transformer_, data, rng)
        n, d = z.shape
        z = np.nan_to_num(z)  # a NaN value score only occurs where the missing-score says "missing"
        if d == 0 or n < 2:
            self._set_mixture(np.ones(1), np.zeros((1, d)), np.eye(d)[None])
            return
        if n > self.max_fit_rows:
            z = z[rng.choice(n, self.max_fit_rows, replace=False)]
        top = int(max(1, min(self.max_components, len(z) // max(2 * d, 10))))
        common = {
            "covariance_type": "full", "reg_covar": 1e-3, "random_state": seed % (2**32), "max_iter": 100,
            "init_params": "k-means++",
        }
        from threadpoolctl import threadpool_limits

        # many tiny linear solves: BLAS threads cost far more than they give (10x slower on 2 busy cores)
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore")
            if self.selection == "bayesian":
                gm: Any = BayesianGaussianMixture(
                    n_components=top, weight_concentration_prior=1.0 / top, **common
                ).fit(z)
            else:
                k = self._choose_components(z, top, rng, common)
                gm = GaussianMixture(n_components=k, **common).fit(z)
        keep = gm.weights_ > 1e-4
        self._set_mixture(gm.weights_[keep], gm.means_[keep], gm.covariances_[keep])

    @staticmethod
    def _choose_components(z: np.ndarray, top: int, rng: np.random.Generator, common: dict[str, Any]) -> int:
        from sklearn.mixture import GaussianMixture

        sub = z[rng.choice(len(z), SELECTION_ROWS, replace=False)] if len(z) > SELECTION_ROWS else z
        best, best_k, k = np.inf, 1, 1
        while k <= top:
            bic = GaussianMixture(n_components=k, **{**common, "max_iter": 50}).fit(sub).bic(sub)
            if bic < best:
                best, best_k = bic, k
            elif k > 2 * best_k:
                break
            k *= 2
        return best_k

    def _set_mixture(self, weights: np.ndarray, means: np.ndarray, covs: np.ndarray) -> None:
        self.weights_ = np.asarray(weights, dtype=float) / np.sum(weights)
        self.means_ = np.asarray(means, dtype=float)
        self.covariances_ = np.asarray(covs, dtype=float)
        d = self.means_.shape[1]
        eye = np.eye(d)
        self.cholesky_ = np.stack([np.linalg.cholesky(c + 1e-9 * eye) for c in self.covariances_])

    def _sample_block(
        self, n: int, rng: np.random.Generator, first_row: int, conditions: dict[str, Any] | None
    ) -> pd.DataFrame:
        d = self.means_.shape[1]
        comp = rng.choice(len(self.weights_), size=n, p=self.weights_)
        eps = rng.standard_normal((n, d))
        z = np.empty((n, d))
        for c in np.unique(comp):
            rows = comp == c
            z[rows] = self.means_[c] + eps[rows] @ self.cholesky_[c].T
        return decode_scores(self.transformer_, self.marginals_, self.dims_, z, rng, first_row)

    def _impute(self, data: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame | None:
        from simulacra.tabular.impute import mixture_impute

        return mixture_impute(self, data, rng, self.weights_, self.means_, self.covariances_)

    def _get_state(self) -> dict[str, Any]:
        return {
            "encoders": self.transformer_.get_state(),
            "dims": [list(x) for x in self.dims_],
            "marginals": marginals_state(self.marginals_),
            "weights": self.weights_,
            "means": self.means_,
            "covariances": self.covariances_,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.transformer_ = TableTransformer.from_state(self.model_metadata_, state["encoders"])
        self.dims_ = [(str(a), str(b)) for a, b in state["dims"]]
        self.marginals_ = marginals_from_state(state["marginals"])
        d = len(self.dims_)
        weights = np.asarray(state["weights"], dtype=float).reshape(-1)
        k = weights.size
        self._set_mixture(
            weights, np.asarray(state["means"], dtype=float).reshape(k, d),
            np.asarray(state["covariances"], dtype=float).reshape(k, d, d),
        )

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["components"] = len(self.weights_)
        info["weights"] = [round(float(w), 4) for w in self.weights_]
        return info
