"""M4 scoring (sMAPE, MASE, OWA by pattern and group) and the submission writer."""
from pathlib import Path

import numpy as np
import pytest

from data_provider.datasets import M4_PATTERNS
from data_provider.m4_scoring import NAIVE2_OFFICIAL, m4_scores
from data_provider.naive2 import naive2_forecast
from tests.helpers.mirror import load_hourly, m4_folder, needs_m4
from utils.errors import ConfigError
from utils.m4_summary import mase_per_series, read_submission, smape_per_series, write_submission

M4_SEASONALITY = {p: info.seasonality for p, info in M4_PATTERNS.items()}


def test_smape_hand_computed_and_zero_denominator():
    f = np.array([[1.0, 0.0, 3.0]])
    y = np.array([[3.0, 0.0, 3.0]])
    # terms: 2/4, 0 (0/0 counts as no error), 0
    assert smape_per_series(f, y)[0] == pytest.approx(200 / 3 * 0.5)


def test_mase_hand_computed():
    history = [np.array([1.0, 2.0, 4.0, 7.0])]  # lag-2 differences: 3, 5 -> scale 4
    f = np.array([[8.0, 8.0]])
    y = np.array([[10.0, 6.0]])
    assert mase_per_series(f, y, history, 2)[0] == pytest.approx(2.0 / 4.0)


def test_groups_are_count_weighted_and_owa_uses_aggregates():
    rng = np.random.default_rng(0)
    sizes = {"Yearly": 3, "Weekly": 2, "Hourly": 5}
    fc, tg, hist, n2 = {}, {}, {}, {}
    for p, s in sizes.items():
        h = 4
        hist[p] = [rng.uniform(1, 10, size=60) for _ in range(s)]
        tg[p] = rng.uniform(1, 10, size=(s, h))
        fc[p] = tg[p] + rng.normal(scale=0.5, size=(s, h))
        n2[p] = tg[p] + rng.normal(scale=2.0, size=(s, h))
    r = m4_scores(fc, tg, hist, n2)
    assert list(r) == ["Yearly", "Weekly", "Hourly", "Others", "Average"]
    per = {p: (smape_per_series(fc[p], tg[p]),
               mase_per_series(fc[p], tg[p], hist[p], M4_SEASONALITY[p]),
               smape_per_series(n2[p], tg[p]),
               mase_per_series(n2[p], tg[p], hist[p], M4_SEASONALITY[p])) for p in sizes}
    others = [np.concatenate([per[p][i] for p in ("Weekly", "Hourly")]) for i in range(4)]
    assert r["Others"]["count"] == 7
    assert r["Others"]["smape"] == pytest.approx(others[0].mean())
    assert r["Others"]["mase"] == pytest.approx(others[1].mean())
    assert r["Others"]["owa"] == pytest.approx(
        (others[0].mean() / others[2].mean() + others[1].mean() / others[3].mean()) / 2)
    allv = [np.concatenate([per[p][i] for p in sizes]) for i in range(4)]
    assert r["Average"]["count"] == 10
    assert r["Average"]["smape"] == pytest.approx(allv[0].mean())
    assert r["Average"]["owa"] == pytest.approx(
        (allv[0].mean() / allv[2].mean() + allv[1].mean() / allv[3].mean()) / 2)
    assert r["Yearly"]["smape"] == pytest.approx(per["Yearly"][0].mean())
    assert r["Hourly"]["naive2_mase"] == pytest.approx(per["Hourly"][3].mean())


def test_naive2_scores_one_against_itself_and_unknown_pattern():
    rng = np.random.default_rng(1)
    hist = [rng.uniform(1, 10, size=40) for _ in range(3)]
    y = rng.uniform(1, 10, size=(3, 6))
    own = np.stack([naive2_forecast(h, 6, 1) for h in hist])
    r = m4_scores({"yearly": own}, {"Yearly": y}, {"Yearly": hist})  # names are case-insensitive
    assert r["Yearly"]["owa"] == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="unknown M4 seasonal pattern 'Biweekly'"):
        m4_scores({"Biweekly": own}, {"Biweekly": y}, {"Biweekly": hist})


@needs_m4
def test_official_naive2_file_scores_the_official_figures():
    _, history, test, naive2 = load_hourly(m4_folder())
    r = m4_scores({"Hourly": naive2}, {"Hourly": test}, {"Hourly": history}, {"Hourly": naive2})
    assert round(r["Hourly"]["smape"], 3) == NAIVE2_OFFICIAL["Hourly"]["smape"] == 18.383
    assert round(r["Hourly"]["mase"], 3) == NAIVE2_OFFICIAL["Hourly"]["mase"] == 2.395
    assert r["Hourly"]["owa"] == 1.0
    assert r["Others"] == r["Average"] == r["Hourly"]
    assert r["Hourly"]["count"] == 414


@needs_m4
def test_our_naive2_scores_the_official_figures():
    _, history, test, naive2 = load_hourly(m4_folder())
    # naive2=None: m4_scores computes Naive2 itself, both as the forecast's yardstick ...
    ours = np.stack([naive2_forecast(h, 48, 24) for h in history])
    r = m4_scores({"Hourly": ours}, {"Hourly": test}, {"Hourly": history})
    assert round(r["Hourly"]["smape"], 3) == 18.383
    assert round(r["Hourly"]["mase"], 3) == 2.395
    assert r["Hourly"]["owa"] == pytest.approx(1.0, abs=1e-9)
    # ... and scored against the official file as the yardstick
    r = m4_scores({"Hourly": ours}, {"Hourly": test}, {"Hourly": history}, {"Hourly": naive2})
    assert r["Hourly"]["owa"] == pytest.approx(1.0, abs=1e-9)


def test_write_submission_layout_roundtrip_and_atomic(tmp_path):
    ids = ["H1", "H2"]
    fc = np.array([[1.5, 2.25, 1e-7], [3.0, 620.173495, 123456.789012345]])
    path = tmp_path / "out" / "submission-Hourly.csv"
    write_submission(path, ids, fc)
    lines = path.read_text().splitlines()
    assert lines[0] == "id,F1,F2,F3"
    assert lines[1].startswith("H1,1.5,2.25,")
    got_ids, got = read_submission(path)
    assert got_ids == ids
    np.testing.assert_array_equal(got, fc)  # full precision
    write_submission(path, ids, fc * 2)  # replaces the old file
    np.testing.assert_array_equal(read_submission(path)[1], fc * 2)
    assert sorted(p.name for p in path.parent.iterdir()) == ["submission-Hourly.csv"]  # no temp left
    with pytest.raises(ValueError):
        write_submission(path, ["H1"], fc)
    np.testing.assert_array_equal(read_submission(path)[1], fc * 2)  # failed write left it intact


def test_the_per_epoch_validation_loss_is_the_full_scores_smape(data_root):
    """Validation reads the sMAPE alone (no Naive2 per epoch); it must be the full scoring's."""
    from accelerate import Accelerator

    from data_provider.data_factory import data_provider
    from exp.config import build_config
    from exp.tasks import evaluate_m4, get_task
    from models import get_model_class
    from run_main import build_parser

    cfg = build_config(build_parser().parse_args(
        ["--task_name", "short_term_forecast", "--model", "SeasonalNaive", "--data", "m4",
         "--root_path", str(Path(data_root) / "m4"), "--seasonal_patterns", "Hourly",
         "--model_id", "t", "--features", "S", "--enc_in", "1", "--c_out", "1"]))
    task, model = get_task(cfg), get_model_class("SeasonalNaive")(cfg).eval()
    dataset, _ = data_provider(cfg, "val")
    quick = evaluate_m4(task, model, dataset, Accelerator(cpu=True), full=False)
    whole = evaluate_m4(task, model, dataset, Accelerator(cpu=True), full=True)
    assert quick.metrics == {} and quick.pred is None
    assert quick.loss == whole.loss == whole.metrics["m4"]["Hourly"]["smape"]
    assert 0 < whole.metrics["m4"]["Hourly"]["owa"] < 2
