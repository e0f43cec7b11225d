"""``python -m accelsim.cost``: the command line lives in ``accelsim.cost.report``."""
import sys

from .report import main

sys.exit(main())
