"""Advancing an ODE state across one sample interval: fixed substeps or an adaptive solve."""

import diffrax
import jax
import jax.numpy as jnp


def fixed_steps(term, solver, h: float, n_sub: int, y, args, spiked):
    """``n_sub`` steps of size ``h`` (ms); returns the state and the summed ``spiked(y0, y1)``."""

    def substep(carry, _):
        y, count = carry
        state = solver.init(term, 0.0, h, y, args)
        y1 = solver.step(term, 0.0, h, y, args, state, False)[0]
        return (y1, count + spiked(y, y1)), None

    zero = jnp.zeros((), y["v"].dtype)
    (y, count), _ = jax.lax.scan(substep, (y, zero), length=n_sub, unroll=n_sub <= 8)
    return y, count


def adaptive_steps(
    term, solver, controller, duration: float, h0: float, y, args, spiked, max_steps
):
    """An adaptive ``diffeqsolve`` over ``duration`` ms; spikes are only seen between samples."""
    sol = diffrax.diffeqsolve(
        term,
        solver,
        0.0,
        duration,
        h0,
        y,
        args,
        stepsize_controller=controller,
        saveat=diffrax.SaveAt(t1=True),
        max_steps=max_steps,
        adjoint=diffrax.DirectAdjoint(),
    )
    y1 = jax.tree.map(lambda a: a[-1], sol.ys)
    return y1, spiked(y, y1)
