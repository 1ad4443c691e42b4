"""Diffrax solvers and terms of our own: exponential integrators, implicit cable steps and
threshold-reset steps."""

from ._cable import CableBackwardEuler as CableBackwardEuler
from ._cable import CableTerm as CableTerm
from ._cable import CableTree as CableTree
from ._exponential import ExplicitTrapezoid as ExplicitTrapezoid
from ._exponential import ExponentialEuler as ExponentialEuler
from ._exponential import ExponentialMidpoint as ExponentialMidpoint
from ._sequential_euler import SequentialEuler as SequentialEuler
from ._spike import SURROGATE_SLOPE as SURROGATE_SLOPE
from ._spike import spike_fn as spike_fn
from ._terms import QuasiLinearTerm as QuasiLinearTerm
from ._terms import SpikingTerm as SpikingTerm
from ._threshold_reset import ThresholdReset as ThresholdReset
