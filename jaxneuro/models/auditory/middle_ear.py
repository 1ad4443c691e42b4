"""The middle ear of Verhulst, Altoè & Vasilkov (2018): a causal band-pass with gain.

V18 (Hear. Res. 360:55) filters the ear-canal pressure with a first-order Butterworth band-pass
from 600 Hz to 4 kHz (second order overall), designed at 100 kHz, and amplifies it by 18 dB
before it drives the stapes of the transmission-line cochlea
(:class:`~jaxneuro.models.auditory.TransmissionLineCochlea`). Implemented from the published
description (``shared/reference/auditory_periphery.md`` §2), not from the authors' code.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal
from jaxtyping import Array, Float

from ..._simulator import (
    Channel,
    IOSpec,
    Params,
    State,
)
from .._model import AbstractModel
from .._parameters import ANY
from ._stage import check_positive_int, prepare, start_state

FS_HZ = 100_000.0
"""Sample rate of the middle ear and the cochlea (Hz): dt = 0.01 ms."""


class MiddleEar(AbstractModel):
    """Middle-ear filter of V18: Butterworth band-pass ``low_hz``–``high_hz`` (order ``order`` per
    edge) with gain ``gain_db``, applied causally as an IIR (direct form II transposed).

    Input ``pressure`` [Pa] (ear-canal pressure) at dt = 0.01 ms; output ``pressure_me`` [Pa],
    the filtered pressure that drives the stapes. The filter's shape is designed with
    ``scipy.signal.butter`` at construction (static NumPy constants); the gain is the parameter
    ``gain_db`` (dB; V18: 18 dB, ×7.943). The state is the filter's two delay registers
    ``{"z": [2]}``, so a run split in two equals the whole run.

    Attributes:
        low_hz, high_hz: band edges (Hz).
        order: Butterworth order per edge (V18: 1, a second-order filter overall).
    """

    low_hz: float = eqx.field(static=True, default=600.0)
    high_hz: float = eqx.field(static=True, default=4000.0)
    order: int = eqx.field(static=True, default=1)

    parameter_constraints: ClassVar[dict[str, str]] = {"gain_db": ANY}  # a loss is < 0 dB

    def __check_init__(self):
        nyquist = FS_HZ / 2
        if not (0 < self.low_hz < self.high_hz < nyquist):
            raise ValueError(
                f"MiddleEar: need 0 < low_hz < high_hz < {nyquist:g} Hz, got "
                f"low_hz={self.low_hz!r}, high_hz={self.high_hz!r}"
            )
        check_positive_int("MiddleEar", "order", self.order)

    @property
    def spec(self) -> IOSpec:
        return IOSpec(
            dt=1e3 / FS_HZ,
            inputs=(Channel("pressure", "Pa", description="ear-canal sound pressure"),),
            outputs=(
                Channel("pressure_me", "Pa", description="middle-ear output driving the stapes"),
            ),
        )

    @property
    def coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """``(b, a)`` of the unit-gain band-pass (float64, ``scipy.signal.butter``)."""
        b, a = scipy.signal.butter(
            self.order, [self.low_hz, self.high_hz], btype="bandpass", fs=FS_HZ
        )
        return np.asarray(b, np.float64), np.asarray(a, np.float64)

    def init(self, key: Array | None = None) -> Params:
        """``{"gain_db": 18.0}`` (dB, V18)."""
        return {"gain_db": jnp.asarray(18.0)}

    def init_state(self, params: Params) -> State:
        dtype = jnp.result_type(*jax.tree.leaves(params), float)
        return {"z": jnp.zeros(len(self.coefficients[1]) - 1, dtype)}

    def apply(
        self, params: Params, inputs: Float[Array, "T 1"], state: State | None = None
    ) -> tuple[dict[str, Array], State]:
        x, params = prepare(self, params, inputs)
        x, dtype = x[:, 0], x.dtype
        z0 = start_state(self, params, state, dtype)
        b, a = self.coefficients
        gain = 10.0 ** (jnp.asarray(params["gain_db"], dtype) / 20.0)
        b = jnp.asarray(b / a[0], dtype) * gain
        a = jnp.asarray(a / a[0], dtype)
        m = len(a) - 1

        def step(z, xk):
            yk = b[0] * xk + z[0]
            rest = b[1:] * xk - a[1:] * yk
            z = rest + jnp.concatenate([z[1:], jnp.zeros(1, dtype)]) if m > 1 else rest
            return z, yk

        z, y = jax.lax.scan(step, z0["z"], x)
        return {"pressure_me": y}, {"z": z}
