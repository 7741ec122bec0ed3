"""Choosing a setting on validation (report/selection.py, ``python -m report pick``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from report.cli import main
from report.selection import best_validation, pick
from utils.errors import UserError


def finished_run(root: Path, vali: list[str], test: str = "0.5") -> Path:
    """A run folder laid out as the results runner leaves it: <run>/results/<setting>/."""
    setting = root / "results" / "long_term_forecast_x"
    setting.mkdir(parents=True)
    (setting / "metrics.json").write_text("{}")
    rows = [f"{i + 1},0.4,{v},{test},0.001,1.0,False" for i, v in enumerate(vali)]
    (setting / "losses.csv").write_text("epoch,train_loss,vali_loss,test_loss,lr,seconds,best\n"
                                        + "\n".join(rows) + "\n")
    return root


def test_the_lowest_best_validation_wins_and_test_is_never_read(tmp_path, capsys):
    high = finished_run(tmp_path / "lr0.001", ["0.95", "0.91", "0.99"], test="0.1")
    low = finished_run(tmp_path / "lr0.000005", ["1.2", "0.93", "0.90"], test="9.9")
    assert best_validation(high) == pytest.approx(0.91)
    assert pick({"0.001": high, "0.000005": low}) == ("0.000005", {"0.001": pytest.approx(0.91),
                                                                   "0.000005": pytest.approx(0.90)})
    assert main(["pick", f"0.001={high}", f"0.000005={low}"]) == 0
    out = capsys.readouterr()
    assert out.out == "0.000005\n" and "best validation loss 0.900000  <- chosen" in out.err


def test_a_diverged_run_loses_and_ties_go_to_the_first(tmp_path):
    nan = finished_run(tmp_path / "a", ["nan", "inf"])
    ok = finished_run(tmp_path / "b", ["3.0"])
    same = finished_run(tmp_path / "c", ["3.0"])
    assert pick({"a": nan, "b": ok})[0] == "b"
    assert pick({"b": ok, "c": same})[0] == "b" and pick({"c": same, "b": ok})[0] == "c"


def test_unfinished_or_malformed_candidates_are_one_line(tmp_path, capsys):
    (tmp_path / "running").mkdir()
    with pytest.raises(UserError, match="expected one finished run"):
        pick({"x": tmp_path / "running"})
    assert main(["pick", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: pick takes LABEL=RUN_FOLDER candidates")
