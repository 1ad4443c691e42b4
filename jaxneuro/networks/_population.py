"""A population of a network: ``size`` cells of one Simulator, vmapped; and an external input."""

from __future__ import annotations

import equinox as eqx

from .._simulator import EVENTS, Simulator


class Population(eqx.Module):
    """``size`` independent cells of one :class:`~jaxneuro.Simulator` (analytical or surrogate),
    stepped together by one ``jax.vmap``-ed ``apply`` per exchange interval.

    Attributes:
        simulator: the cell model; its ``spec.output_dt`` must equal its ``dt``.
        size: number of cells.
        heterogeneous: whether the population's parameters carry a leading cell axis (one value
            per cell); by default one parameter set is shared by all cells.
        spike_channel: the output (of kind events) routed through projections.
        record: outputs exposed by the network, each as ``"<population>.<name>"`` of width
            ``size``: the spikes by default; add ``"v"`` for voltages.
    """

    simulator: Simulator
    size: int = eqx.field(static=True)
    heterogeneous: bool = eqx.field(static=True, default=False)
    spike_channel: str = eqx.field(static=True, default="spikes")
    record: tuple[str, ...] = eqx.field(static=True, default=("spikes",))

    def __check_init__(self):
        if not isinstance(self.simulator, Simulator):
            raise ValueError(f"a Population needs a Simulator, got {type(self.simulator).__name__}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ValueError(f"population size must be a positive int, got {self.size!r}")
        spec = self.simulator.spec
        if spec.decimation != 1:
            raise ValueError(
                f"{type(self.simulator).__name__} gives outputs every {spec.output_dt} ms but "
                f"takes inputs every {spec.dt} ms; a network population needs both equal"
            )
        names = spec.output_names
        if self.spike_channel not in names or spec.output(self.spike_channel).kind != EVENTS:
            raise ValueError(
                f"spike_channel {self.spike_channel!r} must be an events output of "
                f"{type(self.simulator).__name__} (its outputs: {', '.join(names)})"
            )
        unknown = [r for r in self.record if r not in names]
        if unknown or isinstance(self.record, str):
            raise ValueError(
                f"record must be a tuple of output names of {type(self.simulator).__name__} "
                f"({', '.join(names)}), got {self.record!r}"
            )


class External(eqx.Module):
    """An input channel of the network: drive to channel ``channel`` of population
    ``population``, named ``"<population>.<channel>"`` in the network's spec.

    Attributes:
        population: the population's name.
        channel: one of its simulator's input channels (e.g. ``"i_ext"`` in nA, or a synapse
            ``"exc"`` in spikes/sample for Poisson drive); projections into the same channel add.
        shared: one column for the whole population (e.g. a constant background current)
            instead of one column per cell.
    """

    population: str = eqx.field(static=True)
    channel: str = eqx.field(static=True)
    shared: bool = eqx.field(static=True, default=False)

    @property
    def name(self) -> str:
        return f"{self.population}.{self.channel}"
