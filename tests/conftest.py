import os
import sys

import pytest

# tests/ holds the float64 reference and the PyTorch fixtures.
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)
