"""imgconv: PyTorch-exact 2-D convolution on NumPy images, fast, without a deep-learning framework."""

__version__ = "0.1.0"

from . import banks, explain, filters, kernels, wavelet, weights
from ._dispatch import show_config
from ._engine import choose_method
from ._threads import get_num_threads, num_threads, set_num_threads
from .banks import FilterBank
from .conv import Conv2d, conv2d, sepconv2d
from .pipeline import Pipeline
from .shape import ReceptiveField, conv_output_shape, receptive_field

__all__ = [
    "Conv2d",
    "FilterBank",
    "Pipeline",
    "ReceptiveField",
    "banks",
    "choose_method",
    "conv2d",
    "conv_output_shape",
    "explain",
    "filters",
    "get_num_threads",
    "kernels",
    "num_threads",
    "receptive_field",
    "sepconv2d",
    "set_num_threads",
    "show_config",
    "wavelet",
    "weights",
]
