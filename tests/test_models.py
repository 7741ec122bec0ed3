"""Every registered model through the shared checks of ``tests/helpers/model_checks.py``
(registered, shapes, one-batch overfit, its scripts parse, equal to the authors' code where it
is known): one parametrization over ``models.MODEL_REGISTRY``, so a new model is checked by
registering it. What is particular to a model is tested in its own module."""
from __future__ import annotations

import pytest

from models import MODEL_REGISTRY
from tests.helpers.model_checks import SPECS, check_model, checks_for

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name,check", [pytest.param(name, check, id=f"{name}-{check}")
                                        for name in MODEL_REGISTRY for check in checks_for(name)])
def test_model(name, check, tmp_path):
    check_model(name, tmp_path, [check])


def test_every_spec_is_of_a_registered_model():
    assert set(SPECS) <= set(MODEL_REGISTRY), set(SPECS) - set(MODEL_REGISTRY)
