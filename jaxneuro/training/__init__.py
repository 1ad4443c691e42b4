"""Fitting surrogates to teachers: losses, the training loop, atomic checkpoints."""

from ._checkpoint import CheckpointError as CheckpointError
from ._checkpoint import load_tree as load_tree
from ._checkpoint import save_tree as save_tree
from ._fit import FitConfig as FitConfig
from ._fit import FitResult as FitResult
from ._fit import fit as fit
from ._losses import LossMix as LossMix
