"""NEURON wall time for one ``ReducedL5PC`` × 6 s of synaptic input (fixed step 0.025 ms).

The cell is rebuilt from jaxneuro's by ``_neuron_cable.build_neuron_cell`` (see there); inputs are
Bernoulli event counts (``bernoulli_inputs``, seed 0; NMDA cell p_exc 0.011, AMPA twin 0.015,
p_inh = p_exc / 2). Timed: ``continuerun(6000)`` after an untimed ``finitialize`` and event
queueing, best of ``--repeats``, with exact ``hh`` rates (as in the cross-check) and with
NEURON's default rate tables. Writes ``results/neuron_cable.json``.

    /work/.venv-peers/bin/python benchmarks/neuron_cable.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _neuron_cable as nc
import numpy as np
from _harness import machine_info, write_json

from jaxneuro.models import ReducedL5PC

RESULTS = Path(__file__).resolve().parent / "results" / "neuron_cable.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration-ms", type=int, default=6000)
    args = ap.parse_args()
    rows = []
    for nmda, p_exc in ((True, 0.011), (False, 0.015)):
        cell = ReducedL5PC(nmda=nmda)
        x = nc.bernoulli_inputs(0, args.duration_ms, len(cell.sites), p_exc, p_exc / 2)
        for use_table in (False, True):
            t0 = time.perf_counter()
            ncell = nc.build_neuron_cell(cell, use_table=use_table)
            rec = ncell.setup(x, record=(0,))
            build_s = time.perf_counter() - t0
            walls, cpus = [], []
            for _ in range(args.repeats):
                ncell.start()
                w0, c0 = time.perf_counter(), time.process_time()
                ncell.advance()
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
            v = np.asarray(rec["v"][0])
            spikes = nc.crossings(np.asarray(rec["t"]), v)
            row = dict(
                cell="ReducedL5PC" + ("" if nmda else "(nmda=False)"),
                n_compartments=cell.morphology.n,
                duration_ms=args.duration_ms,
                dt_ms=cell.solver_dt,
                usetable_hh=int(use_table),
                n_events=int(x.sum()),
                n_spikes=len(spikes),
                build_s=build_s,
                best_wall_s=min(walls),
                best_cpu_s=min(cpus),
                walls_s=walls,
                cell_s_per_s=args.duration_ms / 1e3 / min(walls),
            )
            rows.append(row)
            print(
                f"{row['cell']:26s} usetable={int(use_table)} events={row['n_events']} "
                f"spikes={row['n_spikes']} best wall {row['best_wall_s']:.3f} s "
                f"(cpu {row['best_cpu_s']:.3f} s), build {build_s:.2f} s"
            )
            del ncell, rec
    from neuron import __version__ as nrn_version

    write_json(
        RESULTS,
        dict(
            machine=machine_info(("neuron", "jax", "numpy")),
            neuron=nrn_version,
            method="fixed step 0.025 ms, cvode off, secondorder=0, 1 thread; finitialize and "
            "event queueing untimed; continuerun(duration) timed; soma v recorded every step",
            rows=rows,
        ),
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
