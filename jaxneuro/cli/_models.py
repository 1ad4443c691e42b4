"""``jaxneuro models``: one line per registered simulator (``--long``: with its full spec)."""

from __future__ import annotations

import re

from .._registry import available, create
from .._simulator import Channel, IOSpec

WIDTH = 120
"""Characters per line of the short listing (descriptions are cut to fit)."""


def add(commands) -> None:
    models = commands.add_parser(
        "models",
        help="list every registered simulator, one line each",
        description="List every registered simulator: its name, what it is, its sample interval "
        "and its input and output channels. --long adds each one's full spec (units and kinds).",
    )
    models.set_defaults(run=run)
    models.add_argument(
        "--long", action="store_true", help="the full description and spec of each simulator"
    )


def run(args) -> int:
    listing = available()
    names = list(listing)
    width = max(map(len, names)) + 2
    for name in names:
        description, spec = listing[name], create(name).spec
        if args.long:
            print(f"{name}: {description}")
            print(f"    {spec.describe()}")
        else:
            print(model_line(name, description, spec, width))
    return 0


def model_line(name: str, description: str, spec: IOSpec, width: int, limit: int = WIDTH) -> str:
    """``hh   Hodgkin-Huxley ... (dt 0.025 ms: i_ext -> v, spikes)``, at most ``limit``
    characters. A description too long loses, in turn: what follows its first ``;``, its
    parentheses of ``key=value`` options, its other parentheses, and its last words (it then
    ends in ``...``). ``jaxneuro models --long`` prints it whole."""
    summary = f"({channels_summary(spec)})"
    room = limit - width - len(summary) - 1
    if len(description) > room:
        description = description.split(";", 1)[0].strip()
    if len(description) > room:
        description = re.sub(r"\s*\([^()]*=[^()]*\)", "", description).strip()
    if len(description) > room:
        description = re.sub(r"\s*\([^()]*\)", "", description).strip()
    if len(description) > room:
        cut = description[: max(room - 3, 0)].rsplit(" ", 1)[0].rstrip(" ,;(")
        description = f"{cut}..."
    return f"{name:<{width}}{description} {summary}"


def channels_summary(spec: IOSpec) -> str:
    """``dt 1 ms: exc0-46, inh0-46 -> v, spikes``: inputs, then outputs; numbered names as
    ranges, a wide channel as ``name[width]``."""
    dts = f"dt {spec.dt:g} ms"
    if spec.output_dt != spec.dt:
        dts += f", outputs every {spec.output_dt:g} ms"
    return f"{dts}: {_names(spec.inputs)} -> {_names(spec.outputs)}"


def _names(channels: tuple[Channel, ...]) -> str:
    parts: list[list] = []  # [prefix, first, last] runs of numbered names, or [text]
    for c in channels:
        found = re.fullmatch(r"(.*\D)(\d+)", c.name)
        if c.width == 1 and found:
            prefix, k = found.group(1), int(found.group(2))
            if parts and len(parts[-1]) == 3 and parts[-1][0] == prefix and parts[-1][2] == k - 1:
                parts[-1][2] = k
                continue
            parts.append([prefix, k, k])
        else:
            parts.append([c.name if c.width == 1 else f"{c.name}[{c.width}]"])
    return ", ".join(
        p[0] if len(p) == 1 else f"{p[0]}{p[1]}" if p[1] == p[2] else f"{p[0]}{p[1]}-{p[2]}"
        for p in parts
    )
