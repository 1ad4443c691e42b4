"""Neuron morphologies as trees of cylindrical compartments: built in code or read from SWC."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SOMA = "soma"


@dataclass(frozen=True)
class Morphology:
    """A tree of cylindrical compartments, parents before children.

    Geometry is static (hashable tuples), so a model holding a morphology compiles once per
    shape. Conventions, as in NEURON with one segment per section: children of the soma join
    at its centre (``dend.connect(soma(0.5))``); any other child joins its parent's distal end,
    and siblings meet at one zero-area junction there. ``branch`` groups compartments into
    unbranched branches (for Branch-ELM and branch-wise inputs).

    Attributes:
        parent: index of each compartment's parent; ``-1`` for the root (compartment 0).
        length: length of each compartment (µm).
        diameter: diameter of each compartment (µm).
        label: ``"soma"``, ``"basal"``, ``"apical"``, ``"trunk"``, ``"tuft"``, ``"axon"``, …
        branch: branch id of each compartment (the soma is branch 0).
    """

    parent: tuple[int, ...]
    length: tuple[float, ...]
    diameter: tuple[float, ...]
    label: tuple[str, ...]
    branch: tuple[int, ...]

    def __post_init__(self):
        n = len(self.parent)
        if n == 0:
            raise ValueError("a morphology needs at least one compartment")
        fields = dict(length=self.length, diameter=self.diameter, label=self.label)
        for name, values in (fields | dict(branch=self.branch)).items():
            if len(values) != n:
                raise ValueError(f"morphology has {n} compartments but {len(values)} {name} values")
        if self.parent[0] != -1 or any(not (0 <= p < i) for i, p in enumerate(self.parent) if i):
            raise ValueError(
                "compartment 0 must be the root (parent -1) and every parent must precede its child"
            )
        for name in ("length", "diameter"):
            bad = [i for i, x in enumerate(getattr(self, name)) if not (math.isfinite(x) and x > 0)]
            if bad:
                raise ValueError(
                    f"compartment {bad[0]} has {name} {getattr(self, name)[bad[0]]}; must be > 0 µm"
                )

    # --- building ----------------------------------------------------------------------------
    @classmethod
    def soma(cls, length: float = 20.0, diameter: float = 20.0) -> Morphology:
        """A single cylindrical soma (µm)."""
        return cls((-1,), (float(length),), (float(diameter),), (SOMA,), (0,))

    def add_branch(
        self,
        parent: int,
        n: int,
        length: float,
        diameter: float | tuple[float, float],
        label: str,
    ) -> tuple[Morphology, list[int]]:
        """This morphology with an unbranched branch of ``n`` compartments, ``length`` µm each,
        attached to compartment ``parent``. ``diameter`` (µm) may be a ``(start, end)`` pair,
        tapered linearly (each compartment takes the diameter at its centre).

        Returns the new morphology and the indices of the branch's compartments, proximal first.
        """
        if not 0 <= parent < self.n:
            raise ValueError(
                f"parent {parent} is not a compartment of this {self.n}-compartment morphology"
            )
        if n < 1:
            raise ValueError(f"a branch needs at least one compartment, got n={n}")
        d0, d1 = (diameter, diameter) if np.isscalar(diameter) else diameter
        centres = (np.arange(n) + 0.5) / n
        diameters = [float(d0 + (d1 - d0) * c) for c in centres]
        first, branch_id = self.n, max(self.branch) + 1
        parents = [parent] + list(range(first, first + n - 1))
        grown = Morphology(
            self.parent + tuple(parents),
            self.length + (float(length),) * n,
            self.diameter + tuple(diameters),
            self.label + (label,) * n,
            self.branch + (branch_id,) * n,
        )
        return grown, list(range(first, first + n))

    @classmethod
    def from_swc(cls, path: str | Path) -> Morphology:
        """Read an SWC file (Cannon et al. 1998; columns ``id type x y z radius parent``).

        The soma (type 1 samples) becomes one cylinder of the samples' mean diameter, as long as it
        is wide (the single-point convention). Every other sample becomes one compartment: the
        cylinder from its parent sample to itself, with the sample's diameter. Zero-length
        samples are merged into their parent. Types 2/3/4 are labelled axon/basal/apical.
        """
        path = Path(path)
        try:
            rows = np.loadtxt(path, comments="#", ndmin=2)
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot read SWC file {path}: {err}") from None
        if rows.shape[0] == 0 or rows.shape[1] < 7:
            raise ValueError(
                f"{path}: an SWC file needs rows of 7 columns (id type x y z radius parent)"
            )
        ids, types = rows[:, 0].astype(int), rows[:, 1].astype(int)
        xyz, radius, parents = rows[:, 2:5], rows[:, 5], rows[:, 6].astype(int)
        row_of = {sid: r for r, sid in enumerate(ids)}
        if len(row_of) != len(ids):
            raise ValueError(f"{path}: duplicate sample ids")
        missing = [p for p in parents if p != -1 and p not in row_of]
        if missing:
            raise ValueError(f"{path}: sample parent {missing[0]} does not exist")
        soma_rows = np.flatnonzero(types == 1)
        if soma_rows.size == 0:
            raise ValueError(f"{path}: no soma samples (type 1)")
        d_soma = float(2 * radius[soma_rows].mean())
        labels = {2: "axon", 3: "basal", 4: "apical"}
        compartment = {int(ids[r]): 0 for r in soma_rows}  # sample id -> compartment index
        parent, length, diam, label, branch = [-1], [d_soma], [d_soma], [SOMA], [0]
        children: dict[int, int] = {}
        for r in range(len(ids)):  # SWC lists parents before children
            if types[r] == 1:
                continue
            p = parents[r]
            if p == -1 or p not in compartment:
                raise ValueError(f"{path}: sample {ids[r]} is not connected to the soma")
            seg = float(np.linalg.norm(xyz[r] - xyz[row_of[p]]))
            pc = compartment[p]
            if seg <= 1e-9 or radius[r] <= 0:
                compartment[int(ids[r])] = pc  # zero-length or degenerate: merge into the parent
                continue
            n_children = children.get(pc, 0)
            children[pc] = n_children + 1
            new_branch = pc == 0 or n_children > 0 or types[row_of[p]] == 1
            compartment[int(ids[r])] = len(parent)
            parent.append(pc)
            length.append(seg)
            diam.append(float(2 * radius[r]))
            label.append(labels.get(int(types[r]), f"type{types[r]}"))
            branch.append(max(branch) + 1 if new_branch else branch[pc])
        return cls(tuple(parent), tuple(length), tuple(diam), tuple(label), tuple(branch))

    # --- geometry ------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.parent)

    def area_cm2(self) -> np.ndarray:
        """Lateral membrane area of each compartment, π·d·L (cm²)."""
        return math.pi * np.asarray(self.diameter) * np.asarray(self.length) * 1e-8

    def half_resistance_factor(self) -> np.ndarray:
        """Axial resistance from each compartment's centre to its end, per unit R_a (1/cm):
        ``(L/2) / (π d²/4)``; multiply by R_a (Ω·cm) for Ω."""
        length_cm = np.asarray(self.length) * 1e-4
        d_cm = np.asarray(self.diameter) * 1e-4
        return (length_cm / 2) / (math.pi * d_cm**2 / 4)

    def children(self) -> list[list[int]]:
        kids: list[list[int]] = [[] for _ in range(self.n)]
        for i, p in enumerate(self.parent[1:], start=1):
            kids[p].append(i)
        return kids

    def path_distance(self) -> np.ndarray:
        """Distance from the soma centre to each compartment's centre along the tree (µm)."""
        dist = np.zeros(self.n)
        for i in range(1, self.n):
            p = self.parent[i]
            start = 0.0 if self.label[p] == SOMA else self.length[p] / 2
            dist[i] = dist[p] + start + self.length[i] / 2
        return dist

    def where(self, labels: str | Sequence[str]) -> list[int]:
        """Indices of the compartments with the given label(s)."""
        labels = (labels,) if isinstance(labels, str) else tuple(labels)
        return [i for i, lab in enumerate(self.label) if lab in labels]
