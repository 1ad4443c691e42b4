"""Multicompartment neurons: a cable on a morphology, HH channels, and receptor synapses."""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._simulator import EVENTS, TRACE, Channel, IOSpec, Outputs, Params, State
from ..solvers import CableBackwardEuler, CableTerm, CableTree, spike_fn
from ._morphology import SOMA, Morphology
from ._parameters import NONNEGATIVE, POSITIVE
from ._stepping import AbstractNeuron, as_float_tree, checkpointed_scan
from .channels import HH, AbstractChannel, CaHVA, CaLVA, Ih, add_currents
from .synapses import AMPA, GABA_A, NMDA, Receptor

OPTIONAL_CHANNELS = {"g_h": Ih(), "g_ca_hva": CaHVA(), "g_ca_lva": CaLVA()}
"""The optional channels of :class:`Membrane`, by density field."""


class Membrane(NamedTuple):
    """Membrane properties, one value per compartment (tuples) or for the whole cell (floats).

    Attributes:
        c_m: specific capacitance (µF/cm²).
        g_pas, e_pas: passive leak (mS/cm², mV), NEURON ``pas``.
        g_na, g_k, g_l: Hodgkin–Huxley densities (mS/cm²), NEURON ``hh``; 0 where absent.
        e_na, e_k, e_l: HH reversal potentials (mV).
        r_a: axial resistivity (Ω·cm).
        celsius: temperature (°C); HH rates scale by 3^((T − 6.3)/10).
        v_init: initial potential of every compartment (mV); gates start at x∞(v_init).
        v_spike: somatic upward crossings of this potential count as spikes (mV).
        g_h, e_h: Ih density (mS/cm²) and reversal (mV), Hay et al. 2011; ``()`` = no Ih.
        g_ca_hva, g_ca_lva: Ca_HVA / Ca_LVAst densities (mS/cm²), the apical "hot zone" of Hay
            et al. 2011; ``()`` = absent. e_ca: fixed calcium reversal potential (mV).
    """

    c_m: tuple[float, ...]
    g_pas: tuple[float, ...]
    e_pas: tuple[float, ...]
    g_na: tuple[float, ...]
    g_k: tuple[float, ...]
    g_l: tuple[float, ...]
    e_na: float = 50.0
    e_k: float = -77.0
    e_l: float = -54.3
    r_a: float = 100.0
    celsius: float = 6.3
    v_init: float = -65.0
    v_spike: float = 0.0
    g_h: tuple[float, ...] = ()
    e_h: float = -45.0
    g_ca_hva: tuple[float, ...] = ()
    g_ca_lva: tuple[float, ...] = ()
    e_ca: float = 132.0

    def optional(self) -> dict[str, tuple[str, ...]]:
        """The optional channels present: ``{density field: its parameter names}``."""
        fields = {"g_h": ("g_h", "e_h"), "g_ca_hva": ("g_ca_hva",), "g_ca_lva": ("g_ca_lva",)}
        return {k: names for k, names in fields.items() if getattr(self, k)}

    @classmethod
    def by_label(
        cls, morphology: Morphology, c_m: dict, g_pas: dict, e_pas: dict, hh: dict, **scalars
    ):
        """Per-compartment values from per-label tables (``{label: value}``; ``"*"`` = default).
        ``hh`` maps labels to ``(g_na, g_k, g_l)``."""

        def column(table, default=0.0):
            return tuple(float(table.get(lab, table.get("*", default))) for lab in morphology.label)

        dens = [hh.get(lab, hh.get("*", (0.0, 0.0, 0.0))) for lab in morphology.label]
        g_na, g_k, g_l = (tuple(float(d[i]) for d in dens) for i in range(3))
        return cls(column(c_m, 1.0), column(g_pas), column(e_pas, -70.0), g_na, g_k, g_l, **scalars)


class CableNeuron(AbstractNeuron):
    """A multicompartment neuron on a :class:`Morphology`.

    Each compartment obeys ``C dV/dt = −I_hh − g_pas (V − E_pas) − Σ g_syn (V − E_syn) + I_axial
    (+ I_electrode)``; HH gates follow NEURON ``hh`` (see :class:`HodgkinHuxley`). Each synapse
    site carries one excitatory channel (AMPA, plus NMDA unless ``nmda=False``) and one
    inhibitory channel (GABA_A); their inputs are event counts per sample, applied as jumps of
    the receptor states at the start of the sample (never as current pulses).

    Inputs: excitatory counts for every site, then inhibitory counts in the same order, then the
    current of each electrode (nA, positive inward). Outputs: soma ``"v"`` (mV) and ``"spikes"``
    (upward ``v_spike`` crossings per sample), and with ``record_dendrites`` also ``"v_dend"``,
    every other compartment's potential ``[T, n − 1]`` (mV).

    Default solver: :class:`~jaxneuro.solvers.CableBackwardEuler` (implicit cable, Hines solve;
    exponential-Euler gates) at ``solver_dt = 0.025`` ms; stock diffrax solvers (e.g.
    ``Kvaerno5`` with a PID controller) run the same :class:`~jaxneuro.solvers.CableTerm`.

    Attributes:
        morphology: the compartment tree.
        membrane: channel densities and constants (:class:`Membrane`).
        sites: compartment of each synapse site.
        ampa, nmda, gaba: receptor kinetics (``nmda=None`` for an AMPA-only cell).
        electrodes: compartments with a current-clamp input channel.
        dt: sample interval (ms); solver_dt: internal step (ms).
    """

    morphology: Morphology = eqx.field(static=True)
    membrane: Membrane = eqx.field(static=True)
    sites: tuple[int, ...] = eqx.field(static=True, default=())
    ampa: Receptor = eqx.field(static=True, default=AMPA)
    nmda: Receptor | None = eqx.field(static=True, default=NMDA)
    gaba: Receptor = eqx.field(static=True, default=GABA_A)
    electrodes: tuple[int, ...] = eqx.field(static=True, default=())
    record_dendrites: bool = eqx.field(static=True, default=False)
    dt: float = eqx.field(static=True, default=1.0)
    solver_dt: float = eqx.field(static=True, default=0.025)
    solver: diffrax.AbstractSolver = CableBackwardEuler()
    stepsize_controller: diffrax.AbstractStepSizeController = diffrax.ConstantStepSize()
    max_steps: int = eqx.field(static=True, default=100_000)

    parameter_constraints: ClassVar[dict[str, str]] = {
        "c_m": POSITIVE,
        "g_pas": NONNEGATIVE,
        "r_a": POSITIVE,
    }  # channels and receptors add their own (see constraints())
    stiff_parameters: ClassVar[tuple[str, ...]] = ("c_m", "r_a", "g_na", "g_k", "celsius")

    def __check_init__(self):
        n = self.morphology.n
        for field in ("c_m", "g_pas", "e_pas", "g_na", "g_k", "g_l", *self.membrane.optional()):
            if len(getattr(self.membrane, field)) != n:
                raise ValueError(f"membrane.{field} needs one value per compartment ({n})")
        for name, idx in (("sites", self.sites), ("electrodes", self.electrodes)):
            bad = [i for i in idx if not 0 <= i < n]
            if bad:
                raise ValueError(f"{name} {bad} are not compartments (0 … {n - 1})")
        if self.morphology.label[0] != SOMA:
            raise ValueError("compartment 0 must be the soma (spikes are read there)")

    # --- structure -----------------------------------------------------------------------------
    @property
    def tree(self) -> CableTree:
        m = self.morphology
        centre = [lab == SOMA for lab in m.label]
        return CableTree.build(m.parent, m.half_resistance_factor().tolist(), centre)

    def receptors(self) -> dict[str, Receptor]:
        pairs = {"ampa": self.ampa, "nmda": self.nmda, "gaba": self.gaba}
        return {k: r for k, r in pairs.items() if r is not None}

    @property
    def branches(self) -> dict[str, list[int]]:
        """Synapse-site indices of each dendritic branch, named by label (``"trunk"``), numbered
        where a label has several branches (``"tuft0"`` …, ``"basal0"`` …)."""
        m = self.morphology
        ids = sorted(set(m.branch) - {m.branch[0]})
        label = {b: m.label[m.branch.index(b)] for b in ids}
        count = {lab: list(label.values()).count(lab) for lab in label.values()}
        seen = dict.fromkeys(count, 0)
        out = {}
        for b in ids:
            lab = label[b]
            name = lab if count[lab] == 1 else f"{lab}{seen[lab]}"
            seen[lab] += 1
            out[name] = [k for k, i in enumerate(self.sites) if m.branch[i] == b]
        return out

    def channels(self) -> tuple[AbstractChannel, ...]:
        """HH everywhere (zero density where absent), then the optional channels present."""
        return (HH(), *(OPTIONAL_CHANNELS[k] for k in self.membrane.optional()))

    def constraints(self) -> dict[str, str]:
        own = super().constraints()
        for channel in self.channels():
            own |= channel.parameter_constraints
        for name, r in self.receptors().items():
            own |= {f"{name}.{k}": c for k, c in r.parameter_constraints.items() if k in r.params()}
        return own

    @property
    def spec(self) -> IOSpec:
        m, exc = self.morphology, "AMPA+NMDA" if self.nmda is not None else "AMPA"
        site = lambda i: f"compartment {i} ({m.label[i]})"  # noqa: E731
        inputs = tuple(
            Channel(f"exc{k}", "events/sample", EVENTS, description=f"{exc} at {site(i)}")
            for k, i in enumerate(self.sites)
        )
        inputs += tuple(
            Channel(f"inh{k}", "events/sample", EVENTS, description=f"GABA_A at {site(i)}")
            for k, i in enumerate(self.sites)
        )
        inputs += tuple(
            Channel(f"i{k}", "nA", description=f"current injected into {site(i)}")
            for k, i in enumerate(self.electrodes)
        )
        outputs = (
            Channel("v", "mV", TRACE, description="somatic membrane potential"),
            Channel("spikes", "count", EVENTS, description="somatic spikes per sample"),
        )
        if self.record_dendrites:
            outputs += (
                Channel(
                    "v_dend",
                    "mV",
                    TRACE,
                    self.morphology.n - 1,
                    "potential of compartments 1 … n − 1",
                ),
            )
        return IOSpec(dt=self.dt, inputs=inputs, outputs=outputs)

    # --- the protocol --------------------------------------------------------------------------
    def init(self, key: Array | None = None) -> Params:
        """Default parameters (deterministic; ``key`` is unused): the passive membrane, the
        channels present, and each receptor's group."""
        names = ["c_m", "g_pas", "e_pas", "r_a", "v_init", "v_spike"]
        for channel in self.channels():
            names += [k for k in channel.parameter_constraints if k not in names]
        params = {k: np.asarray(getattr(self.membrane, k)) for k in names}
        params |= {name: r.params() for name, r in self.receptors().items()}
        return jax.tree.map(lambda a: jnp.asarray(a, jnp.result_type(float)), params)

    def init_state(self, params: Params) -> State:
        dtype = jnp.result_type(*jax.tree.leaves(params))
        v = jnp.full(self.morphology.n, params["v_init"], dtype)
        gates = {}
        for channel in self.channels():
            gates |= channel.steady_state(v, params)
        n_sites = (len(self.sites),)
        syn = {name: r.zero_state(n_sites, dtype) for name, r in self.receptors().items()}
        return as_float_tree(dict(v=v, **gates, syn=syn), dtype)

    def apply(
        self, params: Params, inputs: Float[Array, "T n_inputs"], state: State | None = None
    ) -> tuple[Outputs, State]:
        x, params, y0 = self.start(params, inputs, state)
        n_sites = len(self.sites)
        receptors = self.receptors()
        term = CableTerm(self._rates, self.tree, self._electrical)

        def spiked(y0, y1):
            v0, v1 = y0["v"][0], y1["v"][0]
            return spike_fn(v1 - params["v_spike"]) * (v0 < params["v_spike"])

        def sample(y, row):
            exc, inh, current = row[:n_sites], row[n_sites : 2 * n_sites], row[2 * n_sites :]
            counts = {"ampa": exc, "nmda": exc, "gaba": inh}
            syn = {k: r.receive(y["syn"][k], params[k], counts[k]) for k, r in receptors.items()}
            y, n_spikes = self.advance(term, dict(y, syn=syn), (params, current), spiked)
            return y, (y["v"] if self.record_dendrites else y["v"][:1], n_spikes)

        y1, (v, spikes) = checkpointed_scan(sample, y0, x)
        # the final state covers unrecorded compartments
        v = self.guard_divergence(params, v, y1["v"])
        out = {"v": v[:, 0], "spikes": spikes}
        if self.record_dendrites:
            out["v_dend"] = v[:, 1:]
        return out, y1

    # --- the vector field ----------------------------------------------------------------------
    def _electrical(self, args):
        params, _ = args
        return params["c_m"] * self.morphology.area_cm2(), params["r_a"]

    def _rates(self, t, y, args):
        params, current = args
        p, v = params, y["v"]
        area = self.morphology.area_cm2()
        sites = np.asarray(self.sites, dtype=int)
        g, ge = p["g_pas"], p["g_pas"] * p["e_pas"]
        for channel in self.channels():
            g, ge = add_currents(g, ge, channel.currents(y, p))
        drive_syn, decay_syn = {}, {}
        for name, r in self.receptors().items():
            g_site = r.conductance(y["syn"][name], p[name], v[sites]) * (1e-6 / area[sites])
            g = g.at[sites].add(g_site)
            ge = ge.at[sites].add(g_site * p[name]["e_rev"])
            drive_syn[name], decay_syn[name] = r.rates(y["syn"][name], p[name])
        if self.electrodes:
            idx = np.asarray(self.electrodes, dtype=int)
            ge = ge.at[idx].add(current * (1e-3 / area[idx]))  # nA → µA/cm²
        drive = {"v": ge / p["c_m"], "syn": drive_syn}
        decay = {"v": g / p["c_m"], "syn": decay_syn}
        for channel in self.channels():
            for gate, (d, k) in channel.gate_rates(v, p).items():
                drive[gate], decay[gate] = d, k
        return drive, decay
