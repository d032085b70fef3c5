"""One series' AR(1) fit from bare arrays, as the reference tests state their cases (the program
fits through `analysis.stats.ar1_fits`, many jobs at once)."""

from __future__ import annotations

import numpy as np

from analysis.stats import Fit, Job, ar1_fits


def ar1_fit(days: np.ndarray, phase: np.ndarray, Y: np.ndarray, p: int | None = None, trend: bool = False,
            kr: bool = False) -> Fit:
    """Fit phase means with AR(1) errors to each column of Y (n × k) observed on sorted `days`;
    `phase[i]` is the column index (0..p-1) of observation i; every column must have data."""
    phase = np.asarray(phase)
    return ar1_fits([Job(np.asarray(days), phase, np.asarray(Y), int(phase.max()) + 1 if p is None else int(p),
                         trend)], kr)[0]
