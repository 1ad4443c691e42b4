"""Analytical models, one per file."""

from ._cable_neuron import CableNeuron as CableNeuron
from ._cable_neuron import Membrane as Membrane
from ._morphology import Morphology as Morphology
from ._point_neuron import PointNeuron as PointNeuron
from ._receptors import Receptor as Receptor
from ._synapses import Synapse as Synapse
from .adex import AdEx as AdEx
from .hodgkin_huxley import HodgkinHuxley as HodgkinHuxley
from .izhikevich import Izhikevich as Izhikevich
from .l5pc import LINEAR_SYNAPSES as LINEAR_SYNAPSES
from .l5pc import ReducedL5PC as ReducedL5PC
from .l5pc import reduced_l5pc_morphology as reduced_l5pc_morphology
from .lif import LIF as LIF
