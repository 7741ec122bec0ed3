"""Point metrics, the streaming accumulator and the training losses."""
import math

import numpy as np
import pytest
import torch

from utils.errors import ConfigError
from utils.losses import LOSS_REGISTRY, divide_no_nan, get_loss, mase_loss, smape_loss
from utils.metrics import METRIC_NAMES, MetricAccumulator, metric


def test_metric_hand_computed():
    pred = np.array([[1.0, 2.0], [3.0, 5.0]])
    true = np.array([[2.0, 2.0], [1.0, 4.0]])
    r = metric(pred, true)
    assert set(r) == set(METRIC_NAMES)
    # errors -1, 0, 2, 1
    assert r["mse"] == pytest.approx(6 / 4)
    assert r["mae"] == pytest.approx(4 / 4)
    assert r["rmse"] == pytest.approx(math.sqrt(1.5))
    rel = np.array([-1 / 2, 0, 2 / 1, 1 / 4])
    assert r["mape"] == pytest.approx(np.mean(np.abs(rel)))
    assert r["mspe"] == pytest.approx(np.mean(rel ** 2))


def test_zero_targets_are_left_out_of_mape_and_mspe_only():
    pred = np.array([1.0, 3.0, 5.0])
    true = np.array([0.0, 2.0, 4.0])
    r = metric(pred, true)
    assert r["mse"] == pytest.approx((1 + 1 + 1) / 3)  # the zero-target entry still counts here
    assert r["mape"] == pytest.approx((1 / 2 + 1 / 4) / 2)
    assert r["mspe"] == pytest.approx((1 / 4 + 1 / 16) / 2)
    assert all(np.isfinite(list(r.values())))
    assert math.isnan(metric(np.ones(3), np.zeros(3))["mape"])


def test_accumulator_equals_metric_on_concatenation():
    rng = np.random.default_rng(0)
    preds = [rng.normal(size=(n, 24, 3)) for n in (5, 1, 17, 8)]
    trues = [rng.normal(size=p.shape) for p in preds]
    trues[1][0, :4, 0] = 0.0  # some zero targets
    acc = MetricAccumulator()
    for i, (p, t) in enumerate(zip(preds, trues)):
        acc.update(torch.from_numpy(p).float() if i == 2 else p, t)  # torch input works too
    preds[2] = preds[2].astype(np.float32).astype(np.float64)
    expected = metric(np.concatenate(preds), np.concatenate(trues))
    got = acc.result()
    for k in METRIC_NAMES:
        assert got[k] == pytest.approx(expected[k], rel=1e-10), k


def test_accumulator_merge_and_empty():
    rng = np.random.default_rng(1)
    p, t = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
    a, b = MetricAccumulator(), MetricAccumulator()
    a.update(p[:3], t[:3])
    b.update(p[3:], t[3:])
    a.merge(b)
    assert a.result()["mse"] == pytest.approx(metric(p, t)["mse"])
    assert all(math.isnan(v) for v in MetricAccumulator().result().values())
    with pytest.raises(ValueError):
        a.update(p, t[:, :2])


# ----------------------------------------------------------------------------- losses


def test_registry_and_unknown_loss():
    assert set(LOSS_REGISTRY) >= {"MSE", "MAE", "SMAPE", "MASE"}
    assert isinstance(get_loss("smape"), torch.nn.Module)
    with pytest.raises(ConfigError, match="unknown loss 'huber'.*MAE.*MSE"):
        get_loss("huber")


def test_mse_mae_common_signature():
    f, t = torch.randn(4, 6, 1), torch.randn(4, 6, 1)
    mask = torch.zeros(4, 6, 1)
    mask[:, :3] = 1
    assert torch.allclose(get_loss("MSE")(f, t), torch.mean((f - t) ** 2))
    assert torch.allclose(get_loss("MAE")(f, t), torch.mean((f - t).abs()))
    assert torch.allclose(get_loss("MSE")(f, t, mask=mask), torch.mean((f - t) ** 2 * mask))
    assert torch.allclose(get_loss("MAE")(f, t, insample=f, mask=mask, freq=24),
                          torch.mean((f - t).abs() * mask))


def test_tslib_argument_order_is_refused():
    x, f, t, m = torch.randn(2, 8, 1), torch.randn(2, 4, 1), torch.randn(2, 4, 1), torch.ones(2, 4, 1)
    with pytest.raises(TypeError, match="loss\\(forecast, target"):
        get_loss("SMAPE")(x, 24, f, t, m)


def test_smape_loss_matches_formula_and_zero_terms():
    f = torch.tensor([[1.0, 0.0, 2.0, -1.0]], requires_grad=True)
    t = torch.tensor([[3.0, 0.0, 2.0, 1.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    loss = get_loss("SMAPE")(f, t, mask=mask)
    terms = np.array([2 / 4, 0.0, 0.0, 0.0])  # 0/0 counts as 0, masked term dropped
    assert loss.item() == pytest.approx(200 * terms.mean())
    assert smape_loss(None, None, f, t, mask).item() == pytest.approx(loss.item())
    loss.backward()
    assert torch.isfinite(f.grad).all()  # no NaN gradient from the 0/0 term
    # denominator detached: d/df |f - t| / c = sign(f - t) / c, c = |f| + |t| held constant
    assert f.grad[0, 0].item() == pytest.approx(200 / 4 * (-1 / 4))
    assert f.grad[0, 1].item() == 0.0


def test_divide_no_nan():
    a = torch.tensor([1.0, 0.0, -1.0, 2.0])
    b = torch.tensor([0.0, 0.0, 0.0, 4.0])
    assert divide_no_nan(a, b).tolist() == [0.0, 0.0, 0.0, 0.5]


def test_mase_loss_matches_tslib_formula():
    torch.manual_seed(0)
    x, f, t = torch.randn(3, 12, 1), torch.randn(3, 5, 1), torch.randn(3, 5, 1)
    mask = (torch.rand(3, 5, 1) > 0.3).float()
    freq = 4
    scale = torch.mean(torch.abs(x[:, freq:] - x[:, :-freq]), dim=1)  # (3, 1) as in TSLib
    expected = torch.mean(torch.abs(t - f) * mask / scale[:, None])
    got = get_loss("MASE")(f, t, insample=x, mask=mask, freq=freq)
    assert torch.allclose(got, expected)
    assert torch.allclose(mase_loss(x[..., 0], freq, f, t, mask), expected)  # (B, T) insample
    with pytest.raises(ValueError, match="insample and freq"):
        get_loss("MASE")(f, t)
