"""Where a sweep crosses a level: linear interpolation between bracketing points, or a logistic fit.

numpy and scipy are imported inside the logistic fit, the one place that needs them.
"""

from __future__ import annotations

import math
from typing import Any

from predtrack.errors import RuleError
from predtrack.rules.nodes import fmt_number


def _g(v: float) -> str:
    return f"{v:.4g}"


def linear_crossing(
    pts: list[tuple[float, float]], x_name: str, y_name: str, level: float, file: str
) -> tuple[float, str]:
    """The first x at which y crosses `level`, points sorted by x."""
    for i, (x, y) in enumerate(pts):
        if y == level:
            return x, f"{y_name} equals {fmt_number(level)} at {x_name}={fmt_number(x)}"
        if i + 1 < len(pts):
            x2, y2 = pts[i + 1]
            if (y < level < y2) or (y > level > y2):
                xc = x + (level - y) * (x2 - x) / (y2 - y)
                return xc, (
                    f"crossed {fmt_number(level)} between {x_name}={fmt_number(x)} "
                    f"({fmt_number(y)}) and {fmt_number(x2)} ({fmt_number(y2)})"
                )
    ys = [y for _, y in pts]
    side = "above" if min(ys) > level else "below"
    raise RuleError(
        f"y never crosses {fmt_number(level)}: {y_name} stays {side} it (from "
        f"{fmt_number(min(ys))} to {fmt_number(max(ys))}) over {x_name} "
        f"{fmt_number(pts[0][0])}..{fmt_number(pts[-1][0])} in {file}"
    )


def logistic_crossing(
    pts: list[tuple[float, float]], x_name: str, y_name: str, level: float, file: str, rows: str
) -> tuple[float, str]:
    """Least-squares logistic fit; 2 parameters when y lies in [0,1], else 4 (free asymptotes)."""
    import numpy as np
    from scipy.optimize import least_squares
    from scipy.special import expit

    x, y = np.array(pts, dtype=float).T
    four = bool(y.min() < 0 or y.max() > 1)
    if len(x) < (5 if four else 3):
        raise RuleError(
            f"a logistic fit needs at least {5 if four else 3} {rows}, {file} has {len(x)}"
        )
    # Fit on standardised x so one set of starting points suits any scale of x.
    mu, sd = float(x.mean()), float(x.std())
    u = (x - mu) / sd
    lo0, hi0 = float(y.min()), float(y.max())

    def curve(p: Any) -> Any:
        core = expit(p[1] * (u - p[0]))
        return p[2] + (p[3] - p[2]) * core if four else core

    sign = 1.0 if float(np.cov(u, y)[0, 1]) >= 0 else -1.0
    best = None
    # Several starting midpoints: a noisy sweep has local minima near spurious dips.
    for m0 in np.quantile(u, [0.2, 0.35, 0.5, 0.65, 0.8]):
        for s0 in (1.0, 4.0):
            p0 = [m0, sign * s0, lo0, hi0] if four else [m0, sign * s0]
            try:
                res = least_squares(lambda p: curve(p) - y, p0)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                continue
            if (
                res.status > 0
                and np.all(np.isfinite(res.x))
                and (best is None or res.cost < best.cost)
            ):
                best = res
    if best is None:
        raise RuleError(f"the logistic fit of {y_name} against {x_name} failed in {file}")
    m, s = float(best.x[0]), float(best.x[1])
    lo, hi = (float(best.x[2]), float(best.x[3])) if four else (0.0, 1.0)
    if lo > hi:  # the same curve with the asymptotes named the right way round
        lo, hi, s = hi, lo, -s
    x0, slope = mu + m * sd, s / sd
    frac = (level - lo) / (hi - lo) if hi != lo else math.nan
    fitted = f"midpoint x0={_g(x0)}, slope={_g(slope)}"
    if four:
        fitted += f", lower={_g(lo)}, upper={_g(hi)}"
    if not (0 < frac < 1) or slope == 0:
        raise RuleError(
            f"the fitted logistic curve ({fitted}) never reaches {fmt_number(level)} in {file}"
        )
    xc = x0 + math.log(frac / (1 - frac)) / slope
    if not (x[0] <= xc <= x[-1]):
        raise RuleError(
            f"the fitted logistic curve ({fitted}) crosses {fmt_number(level)} at "
            f"{x_name}={_g(xc)}, outside the data range {fmt_number(x[0])}..{fmt_number(x[-1])} "
            f"in {file}"
        )
    return xc, (
        f"logistic fit to {len(x)} {rows}: {fitted}; crosses {fmt_number(level)} at {_g(xc)}"
    )
