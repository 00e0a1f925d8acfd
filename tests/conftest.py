import os
import sys

import pytest

# tests/ holds the float64 reference and the PyTorch fixtures.
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _torch_classes_have_a_warning_registry():
    """Keep scikit-image's ``expected_warnings`` working once a torch cross-check has imported torch.

    ``skimage._shared._warnings`` clears ``module.__warningregistry__`` of every module in
    ``sys.modules`` and expects AttributeError where there is none; ``torch.classes``
    answers any attribute with a namespace whose ``.clear`` raises RuntimeError.  Giving
    it a registry of its own is what Python gives any module that has warned.
    """
    classes = sys.modules.get("torch.classes")
    if classes is not None and "__warningregistry__" not in vars(classes):
        classes.__warningregistry__ = {}
    yield
