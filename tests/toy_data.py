"""The deterministic 8-village toy of docs/methods.md section 2.1, built from its formulas.

G = 8 villages x 5 households; i = 0..39; g = i // 5; treat = 1 if g is odd;
x = ((7 i) mod 11) / 10; e = ((13 i) mod 17 - 8)/10 + ((5 g) mod 7 - 3)/5;
y = 1 + 0.5 treat + 0.3 x + e.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def toy_frame() -> pd.DataFrame:
    """Return the toy as a frame with columns i, village, treat, x, e, y."""
    i = np.arange(40)
    g = i // 5
    treat = (g % 2 == 1).astype(float)
    x = ((7 * i) % 11) / 10
    e = ((13 * i) % 17 - 8) / 10 + ((5 * g) % 7 - 3) / 5
    y = 1 + 0.5 * treat + 0.3 * x + e
    return pd.DataFrame({"i": i, "village": g, "treat": treat, "x": x, "e": e, "y": y})


def toy_design() -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    """Return (y, X with columns const/treat/x, village) for the regression of section 2.1."""
    df = toy_frame()
    X = pd.DataFrame({"const": 1.0, "treat": df["treat"], "x": df["x"]})
    return df["y"], X, df["village"]
