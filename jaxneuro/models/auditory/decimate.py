"""Decimation by an integer factor (the V18 chain's 100 → 20 kHz step between the hair cell and
the auditory nerve), causal and streaming, or zero-phase as the reference runs it offline."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal
from jaxtyping import Array, Float

from ..._simulator import KINDS, TRACE, Channel, IOSpec, Outputs, Params, State
from .._model import AbstractModel
from ._stage import (
    as_channel,
    check_positive_int,
    check_positive_ms,
    prepare,
    start_state,
)

MODES = ("causal", "zero-phase")


class Decimate(AbstractModel):
    """A low-pass FIR and every ``factor``-th sample: ``dt`` → ``factor · dt`` on one channel of
    any width (default ``v_ihc`` [mV], 100 → 20 kHz, as in Verhulst, Altoè & Vasilkov 2018).

    The filter is SciPy's for ``scipy.signal.decimate(x, factor, n=n_taps - 1, ftype='fir')``:
    ``firwin(n_taps, 1/factor)`` with a Hamming window (31 taps, cut-off at the new Nyquist
    frequency), designed once at construction (NumPy constants; no parameters, ``init()`` is
    ``{}``). Two modes:

    ``mode="causal"`` (default): output ``k`` is ``Σ_j b_j x[5k + 4 − j]``, the filter's output at
    the end of input sample ``5k + 4`` (the protocol's output time), using only inputs up to then.
    The linear-phase filter delays by ``(n_taps − 1)/2 = 15`` input samples, exactly
    3 output samples: :attr:`latency` is 3, i.e. output ``k`` estimates the signal at output time
    ``k − 3``. It streams exactly: the state is the last ``n_taps − 1`` input samples
    (``"history"``, ``[n_taps − 1, width]``) and a flag ``"primed"``. A fresh state
    (:meth:`init_state`) is unprimed: the first call fills the history with its first input
    sample (a constant past, so a resting potential does not start from 0 mV); later calls
    continue from the history. Away from the edges ``causal[k + 3]`` equals SciPy's zero-phase
    output of ``x[4:]`` at ``k``.

    ``mode="zero-phase"``: the reference's offline step, ``scipy.signal.decimate(x, 5, n=30,
    ftype='fir', zero_phase=True)`` (i.e. ``resample_poly(x, 1, 5, window=b)``: output ``k`` is
    the centred filter at input sample ``5k``, zeros beyond both ends), then the first 5 output
    samples set to ``x[0]`` as the V18 code does. Output ``k`` is thus the signal at input sample
    ``5k``, 4 input samples (0.04 ms) before the protocol's output time ``5k + 4`` — the
    reference's own alignment, kept so that outputs equal it; :attr:`latency` is 0. The last
    3 outputs see the zero padding past the end (the reference's end transient). It is not
    streamable: it needs the whole signal. Its state is a counter of calls
    (``{"calls": 0}`` from :meth:`init_state`); ``apply`` with a state returned by an earlier
    call raises an error (at run time, also under ``jit``) instead of silently filtering chunks
    independently. Use ``mode="causal"`` to stream.

    Attributes:
        factor: input samples per output sample (default 5).
        n_taps: FIR length (default 31, SciPy's ``n = 30``).
        mode: ``"causal"`` or ``"zero-phase"``.
        dt: input sample interval (ms; default 0.01).
        name, unit, kind, width: the channel decimated (input and output share them).
    """

    factor: int = eqx.field(static=True, default=5)
    n_taps: int = eqx.field(static=True, default=31)
    mode: str = eqx.field(static=True, default="causal")
    dt: float = eqx.field(static=True, default=0.01)
    name: str = eqx.field(static=True, default="v_ihc")
    unit: str = eqx.field(static=True, default="mV")
    kind: str = eqx.field(static=True, default=TRACE)
    width: int = eqx.field(static=True, default=1)

    def __check_init__(self):
        check_positive_ms("Decimate", "dt", self.dt)
        for field in ("factor", "n_taps", "width"):
            check_positive_int("Decimate", field, getattr(self, field))
        if self.n_taps % 2 == 0:
            raise ValueError(f"Decimate: n_taps must be odd (linear phase), got {self.n_taps}")
        if self.mode not in MODES:
            raise ValueError(f"Decimate: mode must be one of {MODES}, got {self.mode!r}")
        if self.kind not in KINDS:
            raise ValueError(f"Decimate: kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def spec(self) -> IOSpec:
        channel = Channel(self.name, self.unit, self.kind, self.width)
        return IOSpec(
            dt=self.dt, inputs=(channel,), outputs=(channel,), output_dt=self.factor * self.dt
        )

    @property
    def taps(self) -> np.ndarray:
        """The FIR coefficients, ``scipy.signal.firwin(n_taps, 1/factor, window='hamming')``."""
        return scipy.signal.firwin(self.n_taps, 1.0 / self.factor, window="hamming")

    @property
    def latency(self) -> int:
        """Output samples by which the output lags the protocol's output time: the causal
        filter's group delay, ``(n_taps − 1)/2`` input samples, in output samples (rounded where
        it is not whole); 0 for the zero-phase mode."""
        if self.mode == "zero-phase":
            return 0
        return round((self.n_taps - 1) / 2 / self.factor)

    def init(self, key: Array | None = None) -> Params:
        return {}

    def init_state(self, params: Params) -> State:
        dtype = jnp.result_type(float)
        if self.mode == "zero-phase":
            return {"calls": jnp.zeros((), dtype)}
        return {
            "history": jnp.zeros((self.n_taps - 1, self.width), dtype),
            "primed": jnp.zeros((), dtype),
        }

    def _filter(self, padded: Array, first: int, n_out: int) -> Array:
        """``out[k] = Σ_j b_j padded[first + factor·k − j]``, per column, as one strided
        convolution (``padded``: ``[T_p, width]``)."""
        b = jnp.asarray(self.taps[::-1].copy(), padded.dtype)  # correlation with reversed taps
        start = first - (self.n_taps - 1)
        seg = padded[start : start + self.factor * (n_out - 1) + self.n_taps]
        out = jax.lax.conv_general_dilated(
            seg.T[:, None, :],  # [width, 1, time]
            b[None, None, :],
            window_strides=(self.factor,),
            padding="VALID",
            precision=jax.lax.Precision.HIGHEST,
        )
        return out[:, 0, :].T  # [n_out, width]

    def apply(
        self,
        params: Params,
        inputs: Float[Array, "T width"],
        state: State | None = None,
    ) -> tuple[Outputs, State]:
        if params:
            raise ValueError(f"Decimate has no parameters (init() is {{}}), got {params!r}")
        x, _ = prepare(self, params, inputs)
        s = start_state(self, {}, state, x.dtype)
        n_out = x.shape[0] // self.factor
        h = self.n_taps - 1
        if self.mode == "zero-phase":
            calls = eqx.error_if(
                s["calls"],
                s["calls"] > 0,
                "Decimate(mode='zero-phase') is offline and cannot stream: it needs the whole "
                "signal in one call (pass no state, or init_state()); use mode='causal' to stream",
            )
            half = h // 2
            zeros = jnp.zeros((h, self.width), x.dtype)
            padded = jnp.concatenate([zeros, x, zeros[:half]])
            y = self._filter(padded, h + half, n_out)
            y = y.at[: self.factor].set(x[0])
            return {self.name: as_channel(y, self.width)}, {"calls": calls + 1}
        history = jnp.where(
            s["primed"] > 0, s["history"], jnp.broadcast_to(x[0], s["history"].shape)
        )
        padded = jnp.concatenate([history, x])
        y = self._filter(padded, h + self.factor - 1, n_out)
        new = {"history": padded[-h:], "primed": jnp.ones_like(s["primed"])}
        return {self.name: as_channel(y, self.width)}, new
