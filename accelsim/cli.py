"""What every command line of the project shares: bad input is one line naming the flag.

argparse's own answer to a bad flag is a usage block and ``SystemExit``; ours raise
``UsageError`` instead, so each command reports it like the errors it finds after parsing (one
line on stderr, exit status 2, nothing written) and a caller of ``main(argv)`` gets the status back.
"""
from __future__ import annotations

import argparse


class UsageError(ValueError):
    """Bad command-line input; the message names the flag and what it accepts."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors raise UsageError (one line, no usage dump)."""

    def error(self, message: str):  # argparse's hook
        raise UsageError(message)
