"""Naive2 (official M4 benchmark) and seasonal naive: functions and registry models."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from data_provider.naive2 import naive2_forecast, naive2_forecast_batch, seasonal_indices, seasonality_test
from models import get_model_class
from models.SeasonalNaive import seasonal_naive_forecast
from tests.helpers.mirror import load_hourly, m4_folder, needs_m4
from utils.errors import ConfigError


@needs_m4
def test_naive2_equals_the_official_forecasts_on_m4_hourly():
    ids, history, _, official = load_hourly(m4_folder())
    ours = np.stack([naive2_forecast(h, 48, 24) for h in history])
    assert ours.shape == official.shape == (414, 48)
    diff = np.abs(ours - official)
    assert diff.max() < 1e-4, f"max abs difference {diff.max():.3g} at {ids[diff.max(1).argmax()]}"
    # the file carries 10 significant digits: we agree to its rounding
    assert (diff / np.abs(official)).max() < 1e-9


def seasonal_series(n: int, m: int, level: float = 50.0, phase: int = 0) -> tuple[np.ndarray, np.ndarray]:
    pattern = 1 + 0.3 * np.sin(2 * np.pi * np.arange(m) / m + 0.4)
    pattern /= pattern.mean()
    t = np.arange(phase, phase + n)
    return level * pattern[t % m], pattern


@pytest.mark.parametrize("m", [4, 7, 12, 24])
@pytest.mark.parametrize("n", [96, 301])
def test_exact_multiplicative_seasonality_is_recovered(m, n):
    x, pattern = seasonal_series(n, m, phase=3)
    if m == 24 and n < 251:  # R's acf stops at lag floor(10 log10 n) = 19 < 24: not seasonal
        assert not seasonality_test(x, m)
        np.testing.assert_allclose(naive2_forecast(x, 10, m), np.full(10, x[-1]))
        return
    assert seasonality_test(x, m)
    np.testing.assert_allclose(seasonal_indices(x[None], m)[0], pattern[(np.arange(m) + 3) % m])
    h = 2 * m + 3
    expected = 50.0 * pattern[(3 + n + np.arange(h)) % m]  # continues the series' phase
    np.testing.assert_allclose(naive2_forecast(x, h, m), expected, rtol=1e-12)


def test_non_seasonal_cases_fall_back_to_naive():
    rng = np.random.default_rng(0)
    noise = rng.uniform(5, 6, size=200)
    assert not seasonality_test(noise, 12)
    np.testing.assert_array_equal(naive2_forecast(noise, 5, 12), np.full(5, noise[-1]))
    x, _ = seasonal_series(35, 12)  # seasonal, but shorter than 3m: R skips the test
    assert not seasonality_test(x, 12)
    x, _ = seasonal_series(48, 1)
    np.testing.assert_array_equal(naive2_forecast(x, 3, 1), np.full(3, x[-1]))
    const = np.full(100, 7.0)  # acf undefined (0/0): not seasonal, no warning needed
    np.testing.assert_array_equal(naive2_forecast(const, 4, 4), np.full(4, 7.0))


def test_batch_equals_per_series():
    rng = np.random.default_rng(1)
    x = np.stack([seasonal_series(80, 4, level=l)[0] for l in (10, 20)] + [rng.uniform(1, 2, 80)])
    x = x * rng.uniform(0.98, 1.02, size=x.shape)
    batch = naive2_forecast_batch(x, 9, 4)
    for i in range(3):
        np.testing.assert_allclose(batch[i], naive2_forecast(x[i], 9, 4))


def test_seasonal_naive():
    x = np.arange(1.0, 11.0)
    np.testing.assert_array_equal(seasonal_naive_forecast(x, 7, 3), [8, 9, 10, 8, 9, 10, 8])
    np.testing.assert_array_equal(seasonal_naive_forecast(x, 2, 1), [10, 10])
    np.testing.assert_array_equal(seasonal_naive_forecast(x[:2], 3, 3), [2, 2, 2])  # < m points


# ----------------------------------------------------------------------------- models


def configs(**kw):
    base = dict(task_name="short_term_forecast", seasonal_patterns="Hourly", pred_len=5)
    base.update(kw)
    return SimpleNamespace(**base)


@pytest.mark.parametrize("name", ["Naive2", "SeasonalNaive"])
def test_model_attributes_and_seasonality(name):
    cls = get_model_class(name)
    assert cls.needs_training is False and cls.full_history is True and cls.channel_independent is True
    assert cls(configs()).seasonality == 24
    assert cls(configs(seasonal_patterns="Quarterly")).seasonality == 4
    assert cls(configs(task_name="long_term_forecast", seasonality=7)).seasonality == 7
    assert cls(configs(task_name="long_term_forecast")).seasonality == 1
    with pytest.raises(ConfigError, match="M4 seasonal pattern"):
        cls(configs(seasonal_patterns="Fortnightly"))


def test_naive2_model_uses_only_the_real_points_of_padded_histories():
    cfg = configs(seasonal_patterns="Quarterly", pred_len=6)
    model = get_model_class("Naive2")(cfg)
    rng = np.random.default_rng(2)
    series = [seasonal_series(n, 4, level=l)[0] * rng.uniform(0.97, 1.03, n) for n, l in ((40, 5), (29, 9))]
    L = 45
    x = torch.zeros(2, L, 1, dtype=torch.float64)
    mask = torch.zeros(2, L, 1, dtype=torch.float64)
    for i, s in enumerate(series):
        x[i, L - len(s):, 0] = torch.from_numpy(s)
        mask[i, L - len(s):, 0] = 1
    out = model(x, mask, None, None)
    assert out.shape == (2, 6, 1) and out.dtype == torch.float64
    for i, s in enumerate(series):
        np.testing.assert_allclose(out[i, :, 0].numpy(), naive2_forecast(s, 6, 4))


def test_models_treat_time_features_as_a_full_window():
    cfg = configs(task_name="long_term_forecast", seasonality=4, pred_len=3)
    x = torch.rand(2, 32, 3) + 1
    marks = torch.rand(2, 32, 4) - 0.5  # timeF features: not a mask
    for name, fn in (("Naive2", naive2_forecast), ("SeasonalNaive", seasonal_naive_forecast)):
        out = get_model_class(name)(cfg)(x, marks, None, None)
        assert out.shape == (2, 3, 3) and out.dtype == torch.float32
        for b in range(2):
            for c in range(3):
                np.testing.assert_allclose(out[b, :, c].numpy(), fn(x[b, :, c].double().numpy(), 3, 4),
                                           rtol=1e-6)


def test_seasonal_naive_model_with_mask():
    model = get_model_class("SeasonalNaive")(configs(seasonal_patterns="Quarterly", pred_len=5))
    x = torch.tensor([[0, 0, 1, 2, 3, 4, 5, 6.0]]).unsqueeze(-1)
    mask = (x != 0).float()
    assert model(x, mask, None, None)[0, :, 0].tolist() == [3, 4, 5, 6, 3]
