"""A spiking network of populations and projections — itself a :class:`~jaxneuro.Simulator`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._simulator import (
    EVENTS,
    Channel,
    IOSpec,
    Outputs,
    Params,
    Simulator,
    State,
    check_inputs,
    check_state,
    guard_finite,
    trusted_inputs,
    trusted_params,
)
from . import _delays, _projection, _resample
from ._population import External, Population
from ._projection import Projection, Route


def _float_leaves(tree) -> list:
    return [a for a in jax.tree.leaves(tree) if jnp.issubdtype(jnp.result_type(a), jnp.floating)]


def _cast(tree, dtype):
    def cast(a):
        a = jnp.asarray(a)
        return a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a

    return jax.tree.map(cast, tree)


class Network(Simulator):
    """Populations of any Simulators, coupled by projections, as one Simulator.

    Every population steps in lock-step: the run is a ``lax.scan`` over exchange intervals of
    ``exchange_dt`` ms; in each, every population runs one ``vmap``-ed ``apply`` over the
    interval's samples with its state carried, then the interval's spikes are routed through
    each projection into ring buffers of future synaptic input (NEST's scheme: communicate once
    per minimum delay). Since the exchange interval is no longer than the smallest delay, no
    spike can affect its own interval, and the result equals sample-by-sample coupling.

    Populations may have different sample intervals, each a whole multiple of the finest, the
    network's ``dt``: delays and delivery run at ``dt``, and a population ``r`` times coarser
    sees ``r`` network samples as one of its own (input events add, traces average; its spikes
    count in the last of its ``r`` network samples, see ``networks._resample``). The exchange
    interval must be a multiple of every population's ``dt``.

    Spec: inputs are the :class:`External` channels (``"<population>.<channel>"``, width the
    population's size, or 1 if shared), every ``dt`` ms (the finest sample interval of the
    populations); outputs are ``"<population>.<name>"`` for each recorded output (``"spikes"``,
    optionally ``"v"``), width the population's size. Parameters: ``{"populations": {name:
    params}, "projections": {name: {"weight": array}}}``. State: each population's batched
    state, the ring buffers (``"<population>.<channel>"``: ``[L, size]``) and the count of
    exchange intervals run. Streaming holds for calls whose lengths are multiples of the exchange
    interval. A spike-buffer overflow of event-driven delivery is a runtime error.

    Attributes:
        names, cells: the populations' names and :class:`Population` s (``populations`` gives
            them as a dict).
        projections: the :class:`Projection` s.
        inputs: the :class:`External` inputs, in column order. Default: every population input
            channel that no projection targets, one column per cell.
        exchange_dt: the exchange interval (ms); default the smallest delay (after rounding to
            samples of ``dt``), shortened to a multiple of every population's sample interval.
            Must be a multiple of every population's ``dt`` and no longer than the smallest
            delay.
    """

    names: tuple[str, ...] = eqx.field(static=True)
    cells: tuple[Population, ...]
    projections: tuple[Projection, ...]
    inputs: tuple[External, ...] = eqx.field(static=True)
    exchange_dt: float = eqx.field(static=True)
    routes: tuple[Route, ...]
    dt: float = eqx.field(static=True)
    ratios: tuple[int, ...] = eqx.field(static=True)
    chunk: int = eqx.field(static=True)
    buffers: tuple[tuple[str, int], ...] = eqx.field(static=True)

    def __init__(
        self,
        populations: Mapping[str, Population],
        projections: Sequence[Projection] = (),
        inputs: Sequence[External] | None = None,
        exchange_dt: float | None = None,
    ):
        if not isinstance(populations, Mapping) or not populations:
            raise ValueError("a Network needs a non-empty mapping {name: Population}")
        for name, pop in populations.items():
            if not (isinstance(name, str) and name and "." not in name):
                raise ValueError(f"population names must be non-empty, without '.', got {name!r}")
            if not isinstance(pop, Population):
                raise ValueError(f"population {name!r} must be a Population, got {pop!r}")
        self.names = tuple(populations)
        self.cells = tuple(populations.values())
        dts = {name: pop.simulator.spec.dt for name, pop in populations.items()}
        self.dt = min(dts.values())
        self.projections = tuple(projections)
        for p in self.projections:
            self._check_projection(p)
        names = [p.name for p in self.projections]
        if len(set(names)) != len(names):
            raise ValueError(f"projection names must be unique, got {names}")
        self.inputs = self._external(inputs)
        self.ratios = self._ratios(dts)
        self.exchange_dt, self.chunk = self._exchange(dts, exchange_dt)
        self.routes = tuple(p.route(self.dt, self.chunk) for p in self.projections)
        longest: dict[str, int] = {}
        for p, r in zip(self.projections, self.routes, strict=True):
            key = f"{p.post}.{p.channel}"
            longest[key] = max(longest.get(key, 1), r.offset + r.n_rows - self.chunk)
        self.buffers = tuple(
            (key, _delays.ring_length(d, self.chunk)) for key, d in sorted(longest.items())
        )

    @property
    def populations(self) -> dict[str, Population]:
        """``{name: Population}``, in the order given."""
        return dict(zip(self.names, self.cells, strict=True))

    # --- construction checks ------------------------------------------------------------------
    def _check_projection(self, p: Projection) -> None:
        if not isinstance(p, Projection):
            raise ValueError(f"projections must be Projection objects, got {p!r}")
        for side in (p.pre, p.post):
            if side not in self.populations:
                raise ValueError(
                    f"projection {p.name!r}: no population {side!r} "
                    f"(have {', '.join(self.populations)})"
                )
        pre, post = self.populations[p.pre], self.populations[p.post]
        c = p.connectivity
        if (c.n_pre, c.n_post) != (pre.size, post.size):
            raise ValueError(
                f"projection {p.name!r}: connectivity is {c.n_pre}→{c.n_post} but populations "
                f"{p.pre!r} and {p.post!r} have {pre.size} and {post.size} cells"
            )
        spec = post.simulator.spec
        if p.channel not in spec.input_names:
            raise ValueError(
                f"projection {p.name!r}: population {p.post!r} has no input channel "
                f"{p.channel!r} (its inputs: {', '.join(spec.input_names)})"
            )
        width = next(ch.width for ch in spec.inputs if ch.name == p.channel)
        if width != 1:
            raise ValueError(
                f"projection {p.name!r}: channel {p.channel!r} has width {width}; projections "
                "target channels of width 1"
            )

    def _external(self, inputs) -> tuple[External, ...]:
        if inputs is None:
            targeted = {(p.post, p.channel) for p in self.projections}
            return tuple(
                External(name, ch.name)
                for name, pop in self.populations.items()
                for ch in pop.simulator.spec.inputs
                if (name, ch.name) not in targeted
            )
        inputs = tuple(inputs)
        for e in inputs:
            if not isinstance(e, External):
                raise ValueError(f"inputs must be External objects, got {e!r}")
            pop = self.populations.get(e.population)
            if pop is None:
                raise ValueError(
                    f"input {e.name!r}: no population {e.population!r} "
                    f"(have {', '.join(self.populations)})"
                )
            if e.channel not in pop.simulator.spec.input_names:
                raise ValueError(
                    f"input {e.name!r}: population {e.population!r} has no input channel "
                    f"{e.channel!r} (its inputs: {', '.join(pop.simulator.spec.input_names)})"
                )
        names = [e.name for e in inputs]
        if len(set(names)) != len(names):
            raise ValueError(f"input channels must be unique, got {names}")
        return inputs

    def _ratios(self, dts: dict[str, float]) -> tuple[int, ...]:
        """Each population's sample interval in samples of the network's (finest) ``dt``."""
        ratios = []
        for name, d in dts.items():
            r = round(d / self.dt)
            if abs(d / self.dt - r) > 1e-6 * r:
                raise ValueError(
                    f"population {name!r} has dt = {d} ms, not a whole multiple of the finest "
                    f"dt = {self.dt} ms; every population's dt must be one (dt = {dts} ms)"
                )
            ratios.append(r)
        return tuple(ratios)

    def _exchange(self, dts: dict[str, float], exchange_dt) -> tuple[float, int]:
        dt = self.dt
        step = math.lcm(*self.ratios)  # network samples in which every population's dt fits
        coarsest = max(dts, key=dts.get)
        smallest, where = math.inf, None
        for p in self.projections:
            samples = p.samples(dt)
            if samples.size and samples.min() * dt < smallest:
                smallest, where = float(samples.min() * dt), p.name
        if exchange_dt is None:
            fit = step if where is None else round(smallest / dt) // step * step
            if fit < 1:
                raise ValueError(
                    f"the smallest delay, {smallest:g} ms (projection {where!r}), is shorter than "
                    f"{step * dt:g} ms, the shortest exchange interval that is a multiple of every "
                    f"population's dt ({dts} ms): lengthen the delay or refine the coarse "
                    "populations' dt"
                )
            exchange_dt = fit * dt
        if not (isinstance(exchange_dt, int | float) and math.isfinite(exchange_dt)):
            raise ValueError(f"exchange_dt must be a number of ms, got {exchange_dt!r}")
        ratio = exchange_dt / dt
        chunk = round(ratio)
        if chunk < 1 or abs(ratio - chunk) > 1e-6 * max(1.0, ratio):
            raise ValueError(
                f"the populations' dt = {dt} ms does not divide exchange_dt = {exchange_dt} ms"
            )
        if chunk % step:
            raise ValueError(
                f"exchange_dt = {exchange_dt} ms is not a multiple of every population's dt "
                f"({dts} ms; population {coarsest!r} steps {dts[coarsest]} ms)"
            )
        if where is not None and chunk * dt > smallest * (1 + 1e-9):
            raise ValueError(
                f"exchange_dt = {exchange_dt} ms is longer than the smallest delay, "
                f"{smallest:g} ms (projection {where!r}, delays rounded to dt = {dt} ms, zero "
                "delay = one sample); spikes would arrive inside the interval that emitted them"
            )
        return float(exchange_dt), chunk

    # --- the protocol ---------------------------------------------------------------------------
    @property
    def spec(self) -> IOSpec:
        ratio = dict(zip(self.names, self.ratios, strict=True))
        inputs = []
        for e in self.inputs:
            pop = self.populations[e.population]
            ch = next(c for c in pop.simulator.spec.inputs if c.name == e.channel)
            width = ch.width if e.shared else ch.width * pop.size
            who = "every cell" if e.shared else "one column per cell"
            desc = f"{ch.description or ch.name} of population {e.population} ({who})"
            if ratio[e.population] > 1:
                how = "added" if ch.kind == EVENTS else "averaged"
                desc += f", {how} over each of its {pop.simulator.spec.dt} ms samples"
            inputs.append(Channel(e.name, ch.unit, ch.kind, width, desc))
        outputs = []
        for name, pop in self.populations.items():
            for rec in pop.record:
                ch = pop.simulator.spec.output(rec)
                desc = f"{ch.description or ch.name} of population {name}, one column per cell"
                if ratio[name] > 1:
                    where = (
                        "in the last network sample of each"
                        if ch.kind == EVENTS
                        else "held over each"
                    )
                    desc += f", {where} {pop.simulator.spec.dt} ms step"
                outputs.append(
                    Channel(f"{name}.{rec}", ch.unit, ch.kind, ch.width * pop.size, desc)
                )
        return IOSpec(dt=self.dt, inputs=tuple(inputs), outputs=tuple(outputs))

    def init(self, key: Array | None = None) -> Params:
        key = jax.random.key(0) if key is None else key
        keys = jax.random.split(key, len(self.populations))
        pops = {}
        for k, (name, pop) in zip(keys, self.populations.items(), strict=True):
            p = pop.simulator.init(k)
            if pop.heterogeneous:
                p = jax.tree.map(lambda a, n=pop.size: jnp.broadcast_to(a, (n, *jnp.shape(a))), p)
            pops[name] = p
        dtype = jnp.result_type(float)
        projections = {
            p.name: {"weight": jnp.asarray(p.connectivity.weight, dtype)} for p in self.projections
        }
        return {"populations": pops, "projections": projections}

    def _check_params(self, params) -> None:
        if not (
            isinstance(params, Mapping)
            and set(params) == {"populations", "projections"}
            and set(params["populations"]) == set(self.populations)
            and set(params["projections"]) == {p.name for p in self.projections}
        ):
            raise ValueError(
                "network parameters must be {'populations': {name: params}, 'projections': "
                "{name: {'weight': array}}} as init() returns, with populations "
                f"{sorted(self.populations)} and projections "
                f"{sorted(p.name for p in self.projections)}"
            )
        for p in self.projections:
            w = params["projections"][p.name].get("weight")
            want = p.connectivity.weight.shape
            if w is None or jnp.shape(w) != want:
                raise ValueError(
                    f"projection {p.name!r}: weight must have shape {want}, got "
                    f"{None if w is None else jnp.shape(w)}"
                )

    def init_state(self, params: Params) -> State:
        self._check_params(params)
        dtype = jnp.result_type(*_float_leaves(params))
        pops = {}
        for name, pop in self.populations.items():
            p = params["populations"][name]
            if pop.heterogeneous:
                pops[name] = jax.vmap(pop.simulator.init_state)(p)
            else:
                one = pop.simulator.init_state(p)
                pops[name] = jax.tree.map(
                    lambda a, n=pop.size: jnp.broadcast_to(a, (n, *jnp.shape(a))), one
                )
        buffers = {
            key: jnp.zeros((length, self.populations[key.split(".")[0]].size), dtype)
            for key, length in self.buffers
        }
        return {"populations": pops, "buffers": buffers, "clock": jnp.zeros((), jnp.int32)}

    def apply(
        self, params: Params, inputs: Float[Array, "T n_inputs"], state: State | None = None
    ) -> tuple[Outputs, State]:
        self._check_params(params)
        x = check_inputs(self.spec, inputs)
        n_samples = x.shape[0]
        if n_samples % self.chunk:
            raise ValueError(
                f"inputs have {n_samples} samples, not a multiple of the {self.chunk} samples "
                f"of one exchange interval ({self.exchange_dt} ms at dt = {self.dt} ms)"
            )
        dtype = jnp.result_type(x.dtype, *_float_leaves(params))
        x, params = x.astype(dtype), _cast(params, dtype)
        x = guard_finite(x, params["projections"])
        expected = jax.eval_shape(self.init_state, params)
        if state is None:
            state = self.init_state(params)
        else:
            check_state(state, expected)
            state = _cast(state, dtype)
        weights = {name: w["weight"] for name, w in params["projections"].items()}
        prepared = _projection.prepare(self.projections, self.routes, weights)
        x = self._guard_populations(params, x)
        xs = x.reshape(n_samples // self.chunk, self.chunk, x.shape[1])

        def interval(carry, xc):
            return self._interval(params, prepared, carry, xc)

        # parameters and inputs checked once above, not in every interval: the populations'
        # inputs are these inputs and spikes routed through these weights
        with trusted_params(), trusted_inputs():
            state, ys = jax.lax.scan(interval, state, xs)
        out = {}
        for name, y in ys.items():
            y = y.reshape(n_samples, *y.shape[2:])
            out[name] = y[:, 0] if y.shape[1] == 1 else y
        return self._guard_divergence(out, state)

    def _guard_divergence(self, out: Outputs, state: State) -> tuple[Outputs, State]:
        """``out`` and ``state`` carrying a run-time error if a population's state ended the
        call non-finite (a diverged solver: NaN and inf persist). Once per call; a cell's own
        per-sample divergence check rides on its voltage trace, which a network that does not
        record ``v`` drops, so without this a diverged population would only fall silent."""
        flags, messages = [], []
        for name, pop in self.populations.items():
            leaves = _float_leaves(state["populations"][name])
            if leaves:
                flags.append(~jnp.all(jnp.stack([jnp.isfinite(a).all() for a in leaves])))
                messages.append(
                    f"population {name!r} ({type(pop.simulator).__name__}) diverged: its state "
                    "is NaN or inf at the end of the run; check its step (dt, solver_dt) "
                    "against its time constants, and the size of its input"
                )
        if not flags:
            return out, state
        flags = jnp.stack(flags)
        one = jnp.ones((), jnp.result_type(*_float_leaves(state["populations"])))
        one = eqx.branched_error_if(one, flags.any(), jnp.argmax(flags), messages)
        out = {
            k: y.at[-1].multiply(one.astype(y.dtype)) if y.shape[0] else y for k, y in out.items()
        }
        pops = jax.tree.map(
            lambda a: a * one.astype(a.dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a,
            state["populations"],
        )
        return out, dict(state, populations=pops)

    def _guard_populations(self, params, x):
        """``x`` carrying every population's run-time parameter checks, once per call."""
        for name, pop in self.populations.items():
            p = params["populations"][name]
            if pop.heterogeneous:  # one check per cell
                ones = jax.vmap(pop.simulator.guard, (0, None))(p, jnp.ones((), x.dtype))
                x = x * jnp.min(ones)
            else:
                x = pop.simulator.guard(p, x)
        return x

    def _interval(self, params, prepared, state, xc):
        """One exchange interval: read the due input, step every population, route spikes."""
        clock, buffers = state["clock"], dict(state["buffers"])
        heads, due = {}, {}
        for key, length in self.buffers:
            heads[key] = (clock % (length // self.chunk)) * self.chunk
            due[key], buffers[key] = _delays.read(buffers[key], heads[key], self.chunk)
        columns = self._columns()
        pop_states, spikes, ys = {}, {}, {}
        for (name, pop), r in zip(self.populations.items(), self.ratios, strict=True):
            chunk, n, spec = self.chunk, pop.size, pop.simulator.spec
            cols = []  # channel-major: each channel's cells contiguous, as its consumers read
            for ch in spec.inputs:
                key = f"{name}.{ch.name}"
                col = jnp.zeros((chunk, ch.width, n), xc.dtype)
                if key in columns:
                    start, width, shared = columns[key]
                    ext = xc[:, start : start + width]
                    col = col + (
                        ext[:, :, None]
                        if shared
                        else ext.reshape(chunk, n, ch.width).swapaxes(1, 2)
                    )
                if key in due:
                    col = col + due[key][:, None, :]
                cols.append(_resample.gather(col, r, ch.kind))  # [chunk / r, width, n]
            xin = jnp.concatenate(cols, axis=1)  # [m, n_inputs, n]: cell axis last
            run = jax.vmap(pop.simulator.apply, in_axes=(0 if pop.heterogeneous else None, 2, 0))
            out, pop_states[name] = run(
                params["populations"][name], xin, state["populations"][name]
            )
            s = out[pop.spike_channel].reshape(n, chunk // r).T  # [m, n]
            spikes[name] = _resample.spread(s, r, EVENTS).astype(xc.dtype)  # [chunk, n]
            for rec in pop.record:
                y = jnp.moveaxis(out[rec], 1, 0)  # [m, n, ...]
                y = _resample.spread(y, r, spec.output(rec).kind)
                ys[f"{name}.{rec}"] = y.reshape(chunk, -1)
        delivered = _projection.windows(self.projections, self.routes, prepared, spikes)
        for p, r, window in zip(self.projections, self.routes, delivered, strict=True):
            key = f"{p.post}.{p.channel}"
            buffers[key] = _delays.write(buffers[key], heads[key], r.offset, window)
        new = {"populations": pop_states, "buffers": buffers, "clock": clock + 1}
        return new, ys

    def _columns(self) -> dict[str, tuple[int, int, bool]]:
        """``{"<population>.<channel>": (first column, width, shared)}`` of the inputs."""
        cols, start = {}, 0
        for e, ch in zip(self.inputs, self.spec.inputs, strict=True):
            cols[e.name] = (start, ch.width, e.shared)
            start += ch.width
        return cols
