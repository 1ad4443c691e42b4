"""Analytical models, one per file, on one shared base (:class:`AbstractNeuron`): point neurons
(:class:`PointNeuron`, :class:`IntegrateAndFire`) and cable neurons (:class:`CableNeuron`),
built from ion channels (:mod:`.channels`) and synapses (:mod:`.synapses`); and the auditory
periphery's stages (:mod:`.auditory`)."""

from . import auditory as auditory
from . import channels as channels
from . import synapses as synapses
from ._cable_neuron import CableNeuron as CableNeuron
from ._cable_neuron import Membrane as Membrane
from ._integrate_and_fire import IntegrateAndFire as IntegrateAndFire
from ._model import AbstractModel as AbstractModel
from ._morphology import Morphology as Morphology
from ._parameters import ANY as ANY
from ._parameters import NONNEGATIVE as NONNEGATIVE
from ._parameters import POSITIVE as POSITIVE
from ._point_neuron import PointNeuron as PointNeuron
from ._stepping import AbstractNeuron as AbstractNeuron
from .adex import AdEx as AdEx
from .hodgkin_huxley import HodgkinHuxley as HodgkinHuxley
from .izhikevich import Izhikevich as Izhikevich
from .l5pc import LINEAR_SYNAPSES as LINEAR_SYNAPSES
from .l5pc import ReducedL5PC as ReducedL5PC
from .l5pc import reduced_l5pc_input_layout as reduced_l5pc_input_layout
from .l5pc import reduced_l5pc_morphology as reduced_l5pc_morphology
from .lif import LIF as LIF
from .synapses import Receptor as Receptor
from .synapses import Synapse as Synapse
