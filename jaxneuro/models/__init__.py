"""Analytical models, one per file."""

from ._point_neuron import PointNeuron as PointNeuron
from ._synapses import Synapse as Synapse
from .adex import AdEx as AdEx
from .hodgkin_huxley import HodgkinHuxley as HodgkinHuxley
from .izhikevich import Izhikevich as Izhikevich
from .lif import LIF as LIF
