"""Ion channels, one mechanism family per file behind :class:`AbstractChannel`."""

from ._base import AbstractChannel as AbstractChannel
from ._base import add_currents as add_currents
from ._calcium import CaHVA as CaHVA
from ._calcium import CaLVA as CaLVA
from ._hh import HH as HH
from ._hh import rate_functions as rate_functions
from ._hh import vtrap as vtrap
from ._ih import Ih as Ih
