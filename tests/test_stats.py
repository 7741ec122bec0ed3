"""report.stats on cases with known answers: textbook t intervals, hand-computed long-run
variances (uniform and Newey-West) and the HLN factor, the Diebold-Mariano test's size and power by simulation, and the wording rule."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from report.stats import (DMResult, Interval, diebold_mariano, paired_difference, per_step_losses,
                          seed_interval, verdict)

# Student t quantiles from the textbook table (0.975 with 4 and 3 degrees of freedom, 0.95 with 4).
T_975_4 = 2.7764451051977987
T_975_3 = 3.182446305284263
T_95_4 = 2.131846786326649
Z_975 = 1.959963984540054


def test_seed_interval_textbook_example():
    iv = seed_interval([1, 2, 3, 4, 5])
    half = T_975_4 * math.sqrt(2.5 / 5)
    assert (iv.mean, iv.n, iv.level) == (3, 5, 0.95)
    assert iv.std == pytest.approx(math.sqrt(2.5))
    assert (iv.low, iv.high) == pytest.approx((3 - half, 3 + half))
    ci = stats.ttest_1samp([1, 2, 3, 4, 5], 0).confidence_interval(0.95)
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high))


def test_seed_interval_level():
    iv = seed_interval([1, 2, 3, 4, 5], level=0.90)
    half = T_95_4 * math.sqrt(2.5 / 5)
    assert (iv.low, iv.high, iv.level) == pytest.approx((3 - half, 3 + half, 0.90))
    with pytest.raises(ValueError, match="level"):
        seed_interval([1, 2], level=95)


def test_one_seed_gives_a_nan_interval_not_an_error():
    iv = seed_interval([0.42])
    assert (iv.mean, iv.n) == (0.42, 1)
    assert math.isnan(iv.std) and math.isnan(iv.low) and math.isnan(iv.high)


def test_seed_interval_refuses_no_values():
    with pytest.raises(ValueError, match="at least one"):
        seed_interval([])


def test_paired_difference_is_the_interval_of_the_differences():
    a = [0.40, 0.42, 0.39, 0.41]
    b = [0.43, 0.44, 0.42, 0.45]
    # differences -0.03, -0.02, -0.03, -0.04: mean -0.03, sample variance 0.0002 / 3
    iv = paired_difference(a, b)
    half = T_975_3 * math.sqrt(0.0002 / 3 / 4)
    assert iv.n == 4
    assert iv.mean == pytest.approx(-0.03)
    assert iv.std == pytest.approx(math.sqrt(0.0002 / 3))
    assert (iv.low, iv.high) == pytest.approx((-0.03 - half, -0.03 + half))
    assert iv == seed_interval(np.subtract(a, b))
    # the seeds' spread is larger than the gap, but the pairing removes it
    assert seed_interval(a).high > seed_interval(b).low
    assert verdict(iv) == "better"


def test_paired_difference_refuses_mismatched_seeds():
    with pytest.raises(ValueError, match="same seeds"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])


def test_per_step_losses_averages_channels_at_each_time_offset():
    channel_0, channel_1 = [1.0, 2.0, 3.0], [3.0, 6.0, 9.0]
    out = per_step_losses(np.array(channel_0 + channel_1), channels=2)  # channel-major
    assert out.shape == (3,)
    np.testing.assert_allclose(out, [2.0, 4.0, 6.0])
    np.testing.assert_allclose(per_step_losses([5.0, 1.0, 2.0], channels=1), [5.0, 1.0, 2.0])


@pytest.mark.parametrize("values, channels", [([1.0] * 5, 2), ([], 1), ([1.0, 2.0], 0), ([1.0, 2.0], 1.5)])
def test_per_step_losses_refuses_bad_lengths(values, channels):
    with pytest.raises(ValueError):
        per_step_losses(values, channels)


# d = [1, 3, 2, 5, 4, 6]: mean 3.5, deviations -2.5, -0.5, -1.5, 1.5, 0.5, 2.5;
# autocovariances (sum of lagged products / 6): gamma_0 = 17.5/6, gamma_1 = 1.75/6, gamma_2 = 6/6.
D = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0]
G0, G1, G2 = 17.5 / 6, 1.75 / 6, 6.0 / 6


@pytest.mark.parametrize("horizon, long_run_variance", [
    (1, G0),
    (2, G0 + 2 * (1 - 1 / 2) * G1),
    (3, G0 + 2 * (1 - 1 / 3) * G1 + 2 * (1 - 2 / 3) * G2),
])
def test_dm_newey_west_variance_by_hand(horizon, long_run_variance):
    r = diebold_mariano(D, np.zeros(6), horizon, kernel="bartlett")
    se = math.sqrt(long_run_variance / 6)  # divided by n, no small-sample factor
    assert (r.lag, r.n, r.kernel) == (horizon - 1, 6, "bartlett")
    assert r.mean_difference == pytest.approx(3.5)
    assert r.std_error == pytest.approx(se)
    assert r.statistic == pytest.approx(3.5 / se)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(3.5 / se))


@pytest.mark.parametrize("horizon, long_run_variance", [(2, G0 + 2 * G1), (3, G0 + 2 * G1 + 2 * G2)])
def test_dm_uniform_kernel_and_hln_correction_by_hand(horizon, long_run_variance):
    r = diebold_mariano(D, np.zeros(6), horizon)
    n, h = 6, horizon
    se = math.sqrt(long_run_variance / n)
    hln = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)  # Harvey, Leybourne and Newbold (1997)
    assert (r.kernel, r.lag) == ("uniform", h - 1)
    assert r.std_error == pytest.approx(se)
    assert r.statistic == pytest.approx(3.5 / se * hln)
    assert r.p_value == pytest.approx(2 * stats.t.sf(3.5 / se * hln, df=n - 1))


def test_dm_uniform_falls_back_to_bartlett_where_its_variance_is_not_positive():
    # alternating signs: gamma_1 = -gamma_0 * (n-1)/n, so the uniform sum gamma_0 + 2 gamma_1 < 0
    d = np.tile([1.0, -1.0], 10) + 0.1
    r = diebold_mariano(d, np.zeros(d.size), horizon=2)
    assert r.kernel == "bartlett" and r.std_error > 0 and math.isfinite(r.statistic)


def test_dm_horizon_one_is_the_mean_over_its_biased_standard_error():
    rng = np.random.default_rng(3)
    a, b = rng.gamma(2.0, size=200), rng.gamma(2.1, size=200)
    d = a - b
    r = diebold_mariano(a, b, horizon=1, kernel="bartlett")
    assert r.statistic == pytest.approx(d.mean() / math.sqrt(np.var(d) / d.size))
    assert r.p_value == pytest.approx(2 * (1 - stats.norm.cdf(abs(r.statistic))))


def _ma(rng: np.random.Generator, theta: np.ndarray, n: int, replications: int) -> np.ndarray:
    """``replications`` MA(len(theta) - 1) series of length n, shape (replications, n)."""
    e = rng.standard_normal((replications, n + theta.size - 1))
    return np.stack([np.convolve(row, theta, mode="valid") for row in e])


def _rejection_rate(d: np.ndarray, horizon: int, shift: float = 0.0, kernel: str = "uniform") -> float:
    zero = np.zeros(d.shape[1])
    return float(np.mean([diebold_mariano(row + shift, zero, horizon, kernel).p_value < 0.05 for row in d]))


def test_dm_size_under_the_null():
    # MA(23), weights 0.5^j, unit variance, zero mean: the autocorrelation dies within a few lags,
    # where Bartlett's down-weighting costs little (asymptotically 5.7% rejections at 5%).
    h, theta = 24, 0.5 ** np.arange(24)
    d = _ma(np.random.default_rng(0), theta / np.linalg.norm(theta), 2785, 1000)
    assert 0.02 <= _rejection_rate(d, h) <= 0.10


def test_dm_size_for_window_averaged_losses():
    # Each test window's loss averages h per-step errors and consecutive windows share h-1 of them:
    # an MA(h-1) with equal weights. T = 2785 windows is ETTh1's test split at pred_len 96. The
    # default (uniform kernel, HLN, t) holds its level within a few points; Newey-West's Bartlett
    # weights keep ~2/3 of this variance and reject a true null far too often (asymptotically 11%).
    h = 96
    d = _ma(np.random.default_rng(1), np.ones(h) / math.sqrt(h), 2785, 600)
    assert 0.02 <= _rejection_rate(d, h) <= 0.10
    assert _rejection_rate(d, h, kernel="bartlett") > 0.10


def test_dm_power_against_a_shift_of_a_fifth_of_a_standard_deviation():
    # MA(23) with slowly decaying weights 0.8^j, unit variance: long-run sd ~3, so a shift of 0.2
    # is ~3.5 standard errors at T = 2785 (power ~0.94 with the true variance).
    h, theta = 24, 0.8 ** np.arange(24)
    d = _ma(np.random.default_rng(2), theta / np.linalg.norm(theta), 2785, 300)
    assert _rejection_rate(d, h, shift=0.2) >= 0.9
    assert _rejection_rate(d, h, shift=-0.2) >= 0.9


def test_dm_is_antisymmetric_and_identical_losses_show_nothing():
    rng = np.random.default_rng(4)
    a, b = rng.gamma(2.0, size=100), rng.gamma(2.0, size=100)
    ab, ba = diebold_mariano(a, b, 5), diebold_mariano(b, a, 5)
    assert ba.statistic == pytest.approx(-ab.statistic)
    assert ba.p_value == pytest.approx(ab.p_value)
    same = diebold_mariano(a, a.copy(), 5)
    assert (same.statistic, same.p_value, same.mean_difference, same.std_error) == (0.0, 1.0, 0.0, 0.0)
    steps = np.arange(100.0)  # integers, so (steps + 1) - steps is exactly 1
    shifted = diebold_mariano(steps + 1.0, steps, 5)
    assert (shifted.statistic, shifted.p_value) == (math.inf, 0.0)


@pytest.mark.parametrize("a, b, horizon, message", [
    ([1.0] * 10, [1.0] * 9, 2, "same time steps"),
    ([1.0] * 3, [2.0] * 3, 3, "at least horizon"),
    ([1.0, math.nan, 2.0, 3.0], [1.0] * 4, 1, "finite"),
    ([1.0, 2.0, 3.0, 4.0], [1.0, math.inf, 0.0, 0.0], 1, "finite"),
    ([1.0] * 4, [2.0] * 4, 0, "horizon"),
    ([1.0] * 4, [2.0] * 4, 1, "kernel"),
])
def test_dm_refuses(a, b, horizon, message):
    with pytest.raises(ValueError, match=message):
        diebold_mariano(a, b, horizon, kernel="parzen" if message == "kernel" else "uniform")
    if message == "at least horizon":
        assert isinstance(diebold_mariano(a + [1.0], b + [2.0], horizon), DMResult)


def _iv(low: float, high: float, n: int = 4) -> Interval:
    return Interval((low + high) / 2, 0.01, n, low, high, 0.95)


def test_verdict_wording():
    assert verdict(_iv(-0.05, -0.01)) == "better"
    assert verdict(_iv(0.01, 0.05)) == "worse"
    assert verdict(_iv(-0.05, -0.01), lower_is_better=False) == "worse"
    assert verdict(_iv(0.01, 0.05), lower_is_better=False) == "better"
    assert verdict(_iv(-0.02, 0.03)) == "no difference shown (4 seeds)"
    assert verdict(_iv(-0.02, 0.0)) == "no difference shown (4 seeds)"  # zero is inside
    assert verdict(seed_interval([0.3])) == "no difference shown (1 seed)"
    assert verdict(paired_difference([0.30], [0.50])) == "no difference shown (1 seed)"


def test_verdict_names_a_direction_only_when_the_interval_excludes_zero():
    rng = np.random.default_rng(5)
    for _ in range(2000):
        low, high = np.sort(rng.normal(size=2))
        n = int(rng.integers(1, 6))
        if n == 1:
            low = high = math.nan
        iv, lower_is_better = _iv(low, high, n), bool(rng.integers(2))
        word = verdict(iv, lower_is_better)
        if word in ("better", "worse"):
            assert high < 0 or low > 0
            assert (word == "better") == ((high < 0) == lower_is_better)
        else:
            assert not (high < 0 or low > 0)
            assert word == f"no difference shown ({n} seed{'s' if n != 1 else ''})"
