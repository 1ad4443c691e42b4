"""The ``jaxneuro`` command: models, simulation, teacher datasets, fitting, evaluation, a demo.

One module per command, each an argparse front end to the library:

- ``jaxneuro models`` (:mod:`._models`): one line per registered simulator;
- ``jaxneuro simulate MODEL`` (:mod:`._simulate`): ``--n`` cells under one stimulus through
  :func:`jaxneuro.population` in time chunks, written to ``--out`` as traces, manifest, figure;
- ``jaxneuro generate TEACHER --out PATH`` (:mod:`._generate`): :func:`jaxneuro.data.generate`;
- ``jaxneuro fit FAMILY --data PATH --out DIR`` (:mod:`._fit`): :func:`jaxneuro.fit`, resumable,
  then :func:`jaxneuro.save` to ``DIR/surrogate``;
- ``jaxneuro evaluate SURROGATE --out DIR`` (:mod:`._evaluate`): :func:`jaxneuro.evaluate`;
- ``jaxneuro demo`` (:mod:`._demo`): the shipped ``hh-elm`` against its teacher.

:mod:`._main` assembles the parser and turns errors into one line and an exit status;
:mod:`._args` holds what the commands share.
"""

from ._main import main as main

__all__ = ["main"]
