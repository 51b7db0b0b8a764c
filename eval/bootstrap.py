"""Seeded, vectorised bootstrap intervals (numpy only).

Every cargogym metric is a statistic of *units* (episodes, or matched instances) that can be
written as ``stat(W)``: ``W`` is a ``(B, m)`` matrix of resampling weights (how many times each of
the ``m`` units was drawn in each of ``B`` resamples) and ``stat`` returns ``B`` values. The point
estimate is ``stat`` of a single row of ones. A ratio of sums (``sum(num) / sum(den)``) covers
rates over episodes (``den = 1``) and pooled rates over turns or frames (cluster bootstrap: whole
episodes are resampled, so correlated turns of one episode stay together).

Intervals are percentile intervals; resamples whose statistic is undefined (e.g. a resample with
a zero denominator) are dropped. Same input and seed → same interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

_CHUNK_CELLS = 2_000_000  # max B*m weight cells materialised at once


@dataclass
class Sample:
    """What a bootstrap resamples: ``m`` units and a statistic of a weight matrix."""

    m: int
    stat: Callable[[np.ndarray], np.ndarray]

    def point(self) -> float | None:
        if self.m == 0:
            return None
        v = float(self.stat(np.ones((1, self.m)))[0])
        return v if np.isfinite(v) else None


def ratio_sample(num: np.ndarray | list[float], den: np.ndarray | list[float]) -> Sample:
    """``sum(num) / sum(den)`` over resampled units (nan where the denominator is 0)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    if num.shape != den.shape or num.ndim != 1:
        raise ValueError("num and den must be 1-d arrays of the same length")

    def stat(w: np.ndarray) -> np.ndarray:
        n, d = w @ num, w @ den
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)

    return Sample(len(num), stat)


def mean_sample(values: np.ndarray | list[float]) -> Sample:
    values = np.asarray(values, dtype=float)
    return ratio_sample(values, np.ones_like(values))


def _weights(rng: np.random.Generator, b: int, m: int) -> np.ndarray:
    idx = rng.integers(0, m, size=(b, m))
    flat = (idx + (np.arange(b)[:, None] * m)).ravel()
    return np.bincount(flat, minlength=b * m).reshape(b, m).astype(float)


def replicates(sample: Sample, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``resamples`` bootstrap values of the statistic (nan where undefined)."""
    if sample.m == 0 or resamples <= 0:
        return np.full(max(resamples, 0), np.nan)
    chunk = max(1, min(resamples, _CHUNK_CELLS // sample.m))
    out = []
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        out.append(np.asarray(sample.stat(_weights(rng, b, sample.m)), dtype=float))
        done += b
    return np.concatenate(out)


def percentile_interval(reps: np.ndarray, confidence: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval of the finite replicates; None when there are none."""
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return None
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def rng_for(seed: int, stream: int = 0) -> np.random.Generator:
    """Independent, reproducible streams (stream 1 and 2 for the two runs of a comparison)."""
    return np.random.default_rng([int(seed), int(stream)])


def bootstrap_ci(sample: Sample, resamples: int = 1000, seed: int = 0,
                 confidence: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``sample``'s statistic."""
    if sample.m == 0:
        return None
    return percentile_interval(replicates(sample, resamples, rng_for(seed)), confidence)


def difference_ci(a: Sample, b: Sample, resamples: int = 1000, seed: int = 0,
                  confidence: float = 0.95) -> tuple[float | None, tuple[float, float] | None]:
    """Point difference ``stat(a) - stat(b)`` and its interval, the two runs resampled independently."""
    pa, pb = a.point(), b.point()
    if pa is None or pb is None:
        return None, None
    ra = replicates(a, resamples, rng_for(seed, 1))
    rb = replicates(b, resamples, rng_for(seed, 2))
    return pa - pb, percentile_interval(ra - rb, confidence)
