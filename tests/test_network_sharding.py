"""One network split over devices equals the unsharded run (forced host devices)."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import pytest

from jaxneuro import networks

SCRIPT = textwrap.dedent(
    """
    import json
    import jax, jax.numpy as jnp
    from jaxneuro import networks

    assert len(jax.devices()) == 2, jax.devices()
    result = {}
    for fmt in ("dense", "sparse"):
        net = networks.coba(400, seed=0, format=fmt)
        p = net.init()
        s0 = networks.coba_state(net, p, jax.random.key(0))
        x = networks.coba_input(1000)  # 100 ms
        whole, end = jax.jit(net.apply)(p, x, s0)
        ps, ss = networks.shard(net, p, s0)
        split, end_split = jax.jit(net.apply)(ps, x, ss)
        result[fmt] = {
            "max_diff": max(float(jnp.abs(whole[k] - split[k]).max()) for k in whole),
            "v_diff": float(jnp.abs(end["populations"]["E"]["v"]
                                    - end_split["populations"]["E"]["v"]).max()),
            "spikes": float(whole["E.spikes"].sum()),
            "devices": len(split["E.spikes"].sharding.device_set),
            "spec": str(end_split["populations"]["E"]["v"].sharding.spec),
        }
    print("RESULT", json.dumps(result))
    """
)


@pytest.mark.slow
def test_sharded_network_equals_unsharded():
    """COBA (400 cells, 100 ms) split over 2 forced host devices: the same spikes and final
    voltages as one device, with dense and with sparse delivery; outputs and state split by
    cell."""
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2"
    env = dict(os.environ, XLA_FLAGS=flags.strip())
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(s for s in run.stdout.splitlines() if s.startswith("RESULT"))
    result = json.loads(line.split(" ", 1)[1])
    for fmt, r in result.items():
        assert r["spikes"] > 0, fmt
        assert r["max_diff"] == 0.0 and r["v_diff"] < 1e-5, (fmt, r)
        assert r["devices"] == 2 and "cells" in r["spec"], (fmt, r)


def test_uneven_split_is_refused():
    net = networks.coba(400, seed=0, format="dense")
    p = net.init()
    s = net.init_state(p)
    device = jax.devices()[0]
    with pytest.raises(ValueError, match=r"split populations .*'E': 320.* over 3 devices"):
        networks.shard(net, p, s, devices=[device] * 3)
