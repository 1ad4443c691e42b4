"""BrainPy's COBA (its ICLR 2024 benchmark network, ``brainpy`` 2.x API), timed in one process.

``python benchmarks/_brainpy_coba.py N DURATION_MS CV_CELLS`` prints one JSON line: compile and
run times of ``bm.for_loop`` over the steps (the first call compiles and runs; the second, on a
fresh model, is the run time), the E and I rates and the mean ISI CV of the first ``CV_CELLS``
E cells. The model is BrainPy's: ``LifRef`` (τ 20 ms, V_rest −60, V_th −50, V_reset −60 mV,
τ_ref 5 ms, exponential Euler), ``Expon`` + ``COBA`` synapses (τ 5/10 ms, E 0/−80 mV), weights
0.6 and 6.7 (g_L multiples) × 4000 / N with ``FixedProb(0.02)`` event-driven CSR, background
20 mV, voltages uniform in [−60, −50] mV, float32, CPU.
"""

import json
import sys
import time

import brainpy as bp
import brainpy.math as bm
import numpy as np


class EINet(bp.DynSysGroup):
    def __init__(self, n: int):
        super().__init__()
        n_e = n * 4 // 5
        scale = 4000.0 / n
        self.n_e = n_e
        pars = dict(
            V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0,
            V_initializer=bp.init.Uniform(-60.0, -50.0),
        )  # fmt: skip
        self.E = bp.dyn.LifRef(n_e, **pars)
        self.I = bp.dyn.LifRef(n - n_e, **pars)
        self.projs = []
        for pre, e_rev, tau, w in (
            (self.E, 0.0, 5.0, 0.6),
            (self.I, -80.0, 10.0, 6.7),
        ):
            for post in (self.E, self.I):
                proj = bp.dyn.ProjAlignPostMg2(
                    pre=pre,
                    delay=None,
                    comm=bp.dnn.EventCSRLinear(
                        bp.conn.FixedProb(0.02, pre=pre.num, post=post.num), w * scale
                    ),
                    syn=bp.dyn.Expon.desc(post.num, tau=tau),
                    out=bp.dyn.COBA.desc(E=e_rev),
                    post=post,
                )
                self.projs.append(proj)
        for k, p in enumerate(self.projs):
            setattr(self, f"proj{k}", p)

    def update(self, inp):
        for p in self.projs:
            p()
        self.E(inp)
        self.I(inp)
        return self.E.spike, self.I.spike


def run(n, steps):
    model = EINet(n)
    bm.random.seed(0)

    def step(i):
        return model.step_run(i, 20.0)

    t0 = time.perf_counter()
    e, i = bm.for_loop(step, np.arange(steps), progress_bar=False)
    e = np.asarray(e)
    return time.perf_counter() - t0, e, np.asarray(i)


def main():
    n, duration, cv_cells = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    bm.set_platform("cpu")
    bm.set_dt(0.1)
    steps = round(duration / 0.1)
    first, _, _ = run(n, steps)
    wall, e, i = run(n, steps)
    sec = duration / 1000.0
    t, c = np.nonzero(e[:, :cv_cells])
    cvs = []
    for cell in np.unique(c):
        isi = np.diff(t[c == cell])
        if isi.size >= 2:
            cvs.append(isi.std() / isi.mean())
    print(
        json.dumps(
            dict(
                compile_s=first - wall,
                run_s=wall,
                rate_e_hz=float(e.sum() / e.shape[1] / sec),
                rate_i_hz=float(i.sum() / i.shape[1] / sec),
                cv_e=float(np.mean(cvs)) if cvs else float("nan"),
                version=bp.__version__,
            )
        )
    )


if __name__ == "__main__":
    main()
