"""``python -m crisis_survey`` runs the ``crisis-survey`` command line."""

import sys

from ._cli import main

sys.exit(main())
