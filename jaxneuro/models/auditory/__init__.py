"""The auditory periphery of Verhulst, Altoè & Vasilkov (2018, Hear. Res. 360:55), stage by stage.

Each stage is a :class:`~jaxneuro.Simulator`; :class:`jaxneuro.Chain` links them by channel name:
``pressure`` [Pa] (100 kHz) → middle ear → ``pressure_me`` [Pa] → transmission-line cochlea →
``v_bm`` [m/s] per characteristic frequency → inner hair cell → ``v_ihc`` [mV] → decimation to
20 kHz → auditory-nerve synapse → ``rate_hsr`` / ``rate_msr`` / ``rate_lsr`` [spikes/s].
Implemented from the published equations (``shared/reference/auditory_periphery.md``), not from
the authors' code.
"""

from .cochlea import TransmissionLineCochlea as TransmissionLineCochlea
from .cochlea import nearest_sections as nearest_sections
from .decimate import Decimate as Decimate
from .hair_cell import InnerHairCell as InnerHairCell
from .hearing_loss import AUDIOGRAMS as AUDIOGRAMS
from .hearing_loss import filter_gain_table as filter_gain_table
from .hearing_loss import poles_for_audiogram as poles_for_audiogram
from .middle_ear import MiddleEar as MiddleEar
from .nerve import AuditoryNerve as AuditoryNerve
from .periphery import FIBRES_PER_CF as FIBRES_PER_CF
from .periphery import AuditoryPeriphery as AuditoryPeriphery
from .periphery import population_rate as population_rate
from .periphery import synaptopathy as synaptopathy
