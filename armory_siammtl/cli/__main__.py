"""``python -m armory_siammtl.cli`` (what ``torchrun -m armory_siammtl.cli train ...`` runs)."""

import sys

from armory_siammtl.cli import main

sys.exit(main())
