"""The registered model, and its keywords, that generated a dataset (for ``fit``'s model card)."""

from __future__ import annotations

import json
import re
import sys

import jax

from .._registry import available, create
from ..data._store import clean_repr, params_record
from ._args import UsageError


def dataset_teacher(args, dataset) -> tuple[str, dict]:
    """The registry name and keywords that rebuild the teacher that generated ``dataset``:
    ``--teacher`` / ``--teacher-kwargs`` where given, else the manifest's registry name (or every
    registered model) with what ``jaxneuro generate`` passes (nothing, ``dt``, ``dt`` and
    ``solver_dt``).

    The teacher's ``repr`` in the manifest (its full configuration) must match, so the model card
    names exactly the model that produced the data; other parameters than its defaults warn.
    """
    recorded = dataset.manifest["teacher"]
    if args.teacher_kwargs is not None:
        try:
            kwargs = json.loads(args.teacher_kwargs)
        except json.JSONDecodeError as e:
            raise UsageError(f"--teacher-kwargs is not JSON: {e}") from None
        if not isinstance(kwargs, dict):
            raise UsageError(f"--teacher-kwargs must be a JSON object, got {args.teacher_kwargs}")
        candidates = [kwargs]
    else:
        candidates = [{}, {"dt": dataset.spec.dt}]
        found = re.search(r"\bsolver_dt=([0-9.eE+-]+)", recorded.get("repr", ""))
        if found:
            candidates.append({"dt": dataset.spec.dt, "solver_dt": float(found.group(1))})
    if args.teacher is not None:
        create(args.teacher)  # unknown names raise their own error
        names = [args.teacher]
    elif recorded.get("registry_name"):
        names = [recorded["registry_name"]]
    else:
        names = list(available())
    for name in names:
        for kwargs in candidates:
            try:
                teacher = create(name, **kwargs)
            except (TypeError, ValueError):
                continue
            if clean_repr(teacher) == recorded.get("repr"):
                digest = params_record(teacher.init(jax.random.key(dataset.manifest["seed"])))[1]
                if digest != dataset.manifest.get("params_sha256"):
                    print(
                        f"jaxneuro: warning: {dataset.path} was generated with parameters other "
                        f"than {name!r}'s defaults; the model card's teacher has the defaults",
                        file=sys.stderr,
                    )
                return name, kwargs
    tried = " or ".join(repr(n) for n in names) if len(names) < 4 else "any registered model"
    raise UsageError(
        f"the teacher that generated {dataset.path} ({recorded.get('class')}) is not {tried} "
        f"with {' or '.join(json.dumps(c) for c in candidates)}; pass --teacher NAME and "
        "--teacher-kwargs JSON that rebuild it"
    )
