"""``python -m jaxneuro.cli``: the same as the ``jaxneuro`` command."""

import sys

from ._main import main

sys.exit(main())
