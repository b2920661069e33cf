"""Closed-form CRPS and log scores of the parametric families: normal, lognormal, beta.

All functions are vectorised over arrays of parameters and outcomes with numpy
broadcasting; every score is negatively oriented (lower is better).  The
``*_raw`` helpers take validated, broadcast float arrays; the batch scorer and
the distribution classes share them with the public functions.  SciPy's
special functions are imported where they are used, so importing the package
stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from predtrack.scoring._validate import BoolArray, FloatArray, as_float, as_positive, broadcast

__all__ = [
    "FORMULAS",
    "crps_beta",
    "crps_lognormal",
    "crps_normal",
    "log_score_beta",
    "log_score_lognormal",
    "log_score_normal",
]

INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def mu_sigma_x(
    mu: ArrayLike, sigma: ArrayLike, x: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validated, broadcast (mu, sigma > 0, x) of a normal or lognormal forecast."""
    m = as_float(mu, "mu")
    s = as_positive(sigma, "sigma")
    xa = as_float(x, "x")
    if not (m.shape == s.shape == xa.shape):
        m, s, xa = broadcast(("mu", m), ("sigma", s), ("x", xa))
    return m, s, xa


def _a_b_x(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    aa = as_positive(a, "a")
    bb = as_positive(b, "b")
    xa = as_float(x, "x")
    aa, bb, xa = broadcast(("a", aa), ("b", bb), ("x", xa))
    return aa, bb, xa


def _log_pos(xa: FloatArray) -> tuple[BoolArray, FloatArray]:
    """``(x > 0, log x)`` with log x = 0 where x <= 0 (the caller masks those)."""
    pos = xa > 0
    return pos, np.log(np.where(pos, xa, 1.0))


# ------------------------------------------------------------------------ normal


def crps_std_normal(z: ArrayLike) -> FloatArray:
    """CRPS of N(0, 1) at z: z(2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi), computed in place."""
    from scipy.special import ndtr

    za = np.asarray(z, dtype=np.float64)
    c = np.empty_like(za)
    ndtr(za, out=c)
    c *= 2.0
    c -= 1.0
    c *= za
    pdf = np.empty_like(za)
    np.multiply(za, za, out=pdf)
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    pdf *= 2.0 * INV_SQRT_2PI
    c += pdf
    c -= INV_SQRT_PI
    return c


def crps_normal(mu: ArrayLike, sigma: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""CRPS of a normal forecast N(mu, sigma^2) at outcome x (closed form).

    .. math::

        \mathrm{CRPS}(\mathcal N(\mu, \sigma^2), x) = \sigma \left[ z\,(2\Phi(z) - 1)
        + 2\varphi(z) - \frac{1}{\sqrt\pi} \right], \qquad z = \frac{x - \mu}{\sigma}.

    Parameters
    ----------
    mu, sigma, x : array_like
        Mean, standard deviation (> 0) and outcome; broadcast together.

    Returns
    -------
    ndarray
        CRPS in the units of x; lower is better.

    References
    ----------
    Gneiting, T., Raftery, A. E., Westveld, A. H. & Goldman, T. (2005).
    Calibrated probabilistic forecasting using ensemble model output
    statistics and minimum CRPS estimation. Monthly Weather Review 133,
    1098-1118.
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.2.
    """
    m, s, xa = mu_sigma_x(mu, sigma, x)
    z = np.subtract(xa, m)
    z /= s
    c = crps_std_normal(z)
    c *= s
    return c


def log_score_normal(mu: ArrayLike, sigma: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""Log score of a normal forecast: :math:`-\log f(x) = \tfrac12\log(2\pi)
    + \log\sigma + \tfrac12 z^2`, :math:`z = (x - \mu)/\sigma` (in nats).

    Parameters
    ----------
    mu, sigma, x
        Mean, standard deviation (> 0) and outcome, as in :func:`crps_normal`.

    Returns
    -------
    ndarray
        Log score in nats, finite for every x; lower is better.

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    m, s, xa = mu_sigma_x(mu, sigma, x)
    z = (xa - m) / s
    return np.asarray(HALF_LOG_2PI + np.log(s) + 0.5 * z * z)


# --------------------------------------------------------------------- lognormal


def lognormal_cdf_raw(m: FloatArray, s: FloatArray, xa: FloatArray) -> FloatArray:
    """CDF of a lognormal (log X ~ N(m, s^2)) at x: Phi((log x - m)/s), 0 for x <= 0."""
    from scipy.special import ndtr

    pos, lx = _log_pos(xa)
    return np.asarray(np.where(pos, ndtr((lx - m) / s), 0.0))


def crps_lognormal_raw(m: FloatArray, s: FloatArray, xa: FloatArray) -> FloatArray:
    """The lognormal CRPS formula of :func:`crps_lognormal` on validated arrays."""
    from scipy.special import ndtr

    pos = xa > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        logx = np.where(pos, np.log(np.where(pos, xa, 1.0)), -np.inf)
    z = (logx - m) / s
    mean = np.exp(m + 0.5 * s * s)
    return np.asarray(
        xa * (2.0 * ndtr(z) - 1.0) - 2.0 * mean * (ndtr(z - s) + ndtr(s / math.sqrt(2.0)) - 1.0)
    )


def crps_lognormal(mu: ArrayLike, sigma: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""CRPS of a lognormal forecast (log X ~ N(mu, sigma^2)) at x (closed form).

    .. math::

        \mathrm{CRPS} = x\,(2\Phi(z) - 1) - 2 e^{\mu + \sigma^2/2}
        \left[\Phi(z - \sigma) + \Phi(\sigma/\sqrt2) - 1\right],
        \qquad z = \frac{\log x - \mu}{\sigma},

    with :math:`\Phi(z) = \Phi(z - \sigma) = 0` for :math:`x \le 0`.

    Parameters
    ----------
    mu, sigma : array_like
        Mean and standard deviation (> 0) of log X.
    x : array_like
        Outcome (any real number; values <= 0 lie below the support).

    Returns
    -------
    ndarray
        CRPS in the units of x (>= 0, finite); lower is better.

    References
    ----------
    Baran, S. & Lerch, S. (2015). Log-normal distribution based ensemble model
    output statistics models for probabilistic wind-speed forecasting.
    QJRMS 141(691), 2289-2299.
    """
    return crps_lognormal_raw(*mu_sigma_x(mu, sigma, x))


def log_score_lognormal_raw(m: FloatArray, s: FloatArray, xa: FloatArray) -> FloatArray:
    """The lognormal log score of :func:`log_score_lognormal` on validated arrays."""
    pos, lx = _log_pos(xa)
    z = (lx - m) / s
    return np.asarray(np.where(pos, lx + HALF_LOG_2PI + np.log(s) + 0.5 * z * z, np.inf))


def log_score_lognormal(mu: ArrayLike, sigma: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""Log score of a lognormal forecast: :math:`-\log f(x) = \log x +
    \tfrac12\log(2\pi) + \log\sigma + \tfrac12 z^2`, :math:`z = (\log x - \mu)/\sigma`;
    ``inf`` for x <= 0 (outside the support).

    Parameters
    ----------
    mu, sigma : array_like
        Mean and standard deviation (> 0) of log X.
    x : array_like
        Outcome.

    Returns
    -------
    ndarray
        Log score in nats; ``inf`` for x <= 0.

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    return log_score_lognormal_raw(*mu_sigma_x(mu, sigma, x))


# -------------------------------------------------------------------------- beta


def beta_ppf_raw(a: FloatArray, b: FloatArray, levels: FloatArray) -> FloatArray:
    """Beta(a, b) quantiles at ``levels``, shape (N, L): ``betaincinv`` (about 1.5 µs a
    value, the dearest step of scoring fractions) once per distinct (a, b) pair."""
    from scipy.special import betaincinv

    pairs, back = np.unique(a + 1j * b, return_inverse=True)  # (a, b) kept exactly
    return np.asarray(betaincinv(pairs.real[:, None], pairs.imag[:, None], levels[None, :]))[
        back.reshape(-1)
    ]


def crps_beta_raw(a: FloatArray, b: FloatArray, xa: FloatArray) -> FloatArray:
    """The beta CRPS formula of :func:`crps_beta` on validated arrays."""
    from scipy.special import betainc, betaln

    xc = np.clip(xa, 0.0, 1.0)
    f = betainc(a, b, xc)
    f1 = betainc(a + 1.0, b, xc)
    half_gini = 2.0 * np.exp(betaln(2.0 * a, 2.0 * b) - 2.0 * betaln(a, b)) / (a + b)
    return np.asarray(xa * (2.0 * f - 1.0) + a / (a + b) * (1.0 - 2.0 * f1) - half_gini)


def crps_beta(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""CRPS of a Beta(a, b) forecast on [0, 1] at outcome x (closed form).

    .. math::

        \mathrm{CRPS} = x\,(2F_{a,b}(x) - 1) + \frac{a}{a+b}
        \left[1 - 2F_{a+1,b}(x) - \frac{2B(2a, 2b)}{a\,B(a, b)^2}\right],

    where :math:`F_{a,b}` is the Beta CDF (0 below 0, 1 above 1) and B the
    beta function, evaluated through ``betaln`` to avoid overflow.

    Parameters
    ----------
    a, b : array_like
        Shape parameters (> 0).
    x : array_like
        Outcome (values outside [0, 1] are scored, with the CDF 0 or 1 there).

    Returns
    -------
    ndarray
        CRPS in the units of x (a fraction); lower is better.

    References
    ----------
    Jordan, A., Krüger, F. & Lerch, S. (2019). Evaluating probabilistic
    forecasts with scoringRules. Journal of Statistical Software 90(12),
    1-37, appendix A (beta distribution).  (Taillardat et al. 2016, Monthly
    Weather Review 144, 2375-2393, is the usual citation for the
    probability-weighted-moment CRPS estimator of *ensembles*, not for this
    closed form.)
    """
    return crps_beta_raw(*_a_b_x(a, b, x))


def log_score_beta_raw(a: FloatArray, b: FloatArray, xa: FloatArray) -> FloatArray:
    """The beta log score of :func:`log_score_beta` on validated arrays."""
    from scipy.special import betaln, xlog1py, xlogy

    inside = (xa >= 0.0) & (xa <= 1.0)
    xc = np.clip(xa, 0.0, 1.0)
    with np.errstate(invalid="ignore"):
        logpdf = xlogy(a - 1.0, xc) + xlog1py(b - 1.0, -xc) - betaln(a, b)
    return np.asarray(np.where(inside, -logpdf, np.inf))


def log_score_beta(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> FloatArray:
    r"""Log score of a Beta(a, b) forecast: :math:`-\log f(x) = -(a-1)\log x
    - (b-1)\log(1-x) + \log B(a, b)` on [0, 1], ``inf`` outside.

    At x = 0 (or 1) the density is finite for a = 1 (b = 1), zero for a > 1
    (score ``+inf``) and infinite for a < 1 (score ``-inf``); 0 log 0 = 0.

    Parameters
    ----------
    a, b : array_like
        Shape parameters (> 0).
    x : array_like
        Outcome.

    Returns
    -------
    ndarray
        Log score in nats; ``inf`` outside [0, 1] (see above for 0 and 1).

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). JASA 102(477), 359-378, section 4.1.
    """
    return log_score_beta_raw(*_a_b_x(a, b, x))


Score = Callable[[ArrayLike, ArrayLike, ArrayLike], FloatArray]

#: The closed-form (CRPS, log score) of each parametric family, by its stored name.
FORMULAS: dict[str, tuple[Score, Score]] = {
    "normal": (crps_normal, log_score_normal),
    "lognormal": (crps_lognormal, log_score_lognormal),
    "beta": (crps_beta, log_score_beta),
}
