"""What every command line of the project shares: bad input is one line naming the flag.

argparse's own answer to a bad flag is a usage block and ``SystemExit``; ours raise
``UsageError`` instead, so each command reports it like the errors it finds after parsing (one
line on stderr, exit status 2, nothing written) and a caller of ``main(argv)`` gets the status back.
"""
from __future__ import annotations

import argparse

from .config import BETWEEN_LAYERS
from .pe import WIDE_LAYERS


class UsageError(ValueError):
    """Bad command-line input; the message names the flag and what it accepts."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors raise UsageError (one line, no usage dump)."""

    def error(self, message: str):  # argparse's hook
        raise UsageError(message)


# The cost model's switches, with the same flag names in python -m accelsim, -m accelsim.cost
# and -m dse.sweep (which also takes a comma-separated list of values).
WIDE_LAYERS_HELP = ("where a layer wider than the PE runs: host (a unit of the array's size "
                    "built from PEs of the layer's widths; its rows and energy are reported "
                    "apart) or passes (bit-serial passes of an integer layer on the array)")
BETWEEN_LAYERS_HELP = ("sram: a layer's output stays on chip as the next layer's input as far "
                       "as it fits; dram: every layer's output goes to DRAM and back "
                       "(SCALE-Sim's accounting)")
QUANTIZE_ENDS_HELP = ("quantize a built-in network's first conv and last FC to the array's "
                      "widths too (default: fp32, as WRPN trains them)")


def add_cost_options(parser: argparse.ArgumentParser) -> None:
    """--wide-layers, --between-layers and --quantize-ends, as single values."""
    parser.add_argument("--wide-layers", default="host", choices=WIDE_LAYERS,
                        help=WIDE_LAYERS_HELP + " (default host)")
    parser.add_argument("--between-layers", default="sram", choices=BETWEEN_LAYERS,
                        help=BETWEEN_LAYERS_HELP + " (default sram)")
    parser.add_argument("--quantize-ends", action="store_true", help=QUANTIZE_ENDS_HELP)
