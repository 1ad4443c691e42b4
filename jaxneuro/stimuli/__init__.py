"""Stimulus generators: injected currents, spike trains and sound, sampled every ``dt`` ms."""

from ._currents import (
    ornstein_uhlenbeck as ornstein_uhlenbeck,
)
from ._currents import (
    ramp as ramp,
)
from ._currents import (
    sine as sine,
)
from ._currents import (
    step as step,
)
from ._doubly_stochastic import HOLD_MENU_MS as HOLD_MENU_MS
from ._doubly_stochastic import SIGMA_MENU_MS as SIGMA_MENU_MS
from ._doubly_stochastic import check_doubly_stochastic as check_doubly_stochastic
from ._doubly_stochastic import (
    doubly_stochastic as doubly_stochastic,
)
from ._sound import DT_100KHZ as DT_100KHZ
from ._sound import P0_PA as P0_PA
from ._sound import calibrate_rms as calibrate_rms
from ._sound import click as click
from ._sound import click_peak as click_peak
from ._sound import noise as noise
from ._sound import pure_tone as pure_tone
from ._sound import sam_tone as sam_tone
from ._sound import silence as silence
from ._sound import spl as spl
from ._sound import tone_amplitude as tone_amplitude
from ._sound import tone_pair as tone_pair
from ._sound_files import load_wav as load_wav
from ._sound_files import save_wav as save_wav
from ._sound_files import speech_from_text as speech_from_text
from ._speech import speech_like as speech_like
from ._spike_trains import (
    inhomogeneous_poisson as inhomogeneous_poisson,
)
from ._spike_trains import (
    poisson as poisson,
)
from ._stack import stack as stack

__all__ = [
    "DT_100KHZ",
    "HOLD_MENU_MS",
    "P0_PA",
    "SIGMA_MENU_MS",
    "calibrate_rms",
    "check_doubly_stochastic",
    "click",
    "click_peak",
    "doubly_stochastic",
    "inhomogeneous_poisson",
    "load_wav",
    "noise",
    "ornstein_uhlenbeck",
    "poisson",
    "pure_tone",
    "ramp",
    "sam_tone",
    "save_wav",
    "silence",
    "sine",
    "speech_from_text",
    "speech_like",
    "spl",
    "stack",
    "step",
    "tone_amplitude",
    "tone_pair",
]
