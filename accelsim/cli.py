"""What every command line of the project shares: one vocabulary of hardware options, and bad
input as one line naming the flag.

argparse's own answer to a bad flag is a usage block and ``SystemExit``; ours raise
``UsageError`` instead, so each command reports it like the errors it finds after parsing (one
line on stderr, exit status 2, nothing written) and a caller of ``main(argv)`` gets the status back.

The array, memory, clock, batch and cost-model options are defined once here (``OPTIONS``,
``--table``, ``--quantize-ends``) and added to a parser by ``add_hardware_options``: ``python -m accelsim`` and ``python -m
accelsim.cost`` take one value each, ``python -m dse.sweep`` and ``python -m dashboards.app``
(its start-up sweep) a value, a list or a range (``lists=True``).  A flag means the same, with
the same default, in all four.  A new hardware option is one more ``Option`` in ``OPTIONS``;
a command's own options go on the groups ``add_hardware_options`` returns or on the parser.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, fields

from . import dataflows
from .config import (BETWEEN_LAYERS, MAX_ARRAY_SIDE, MAX_BATCH, MAX_DRAM_BW_BYTES_PER_CYCLE,
                     MAX_FREQ_MHZ, MAX_SRAM_KB, ArrayConfig)
from .formats import ALLOWED_BITS, ALLOWED_BITS_TEXT
from .pe import WIDE_LAYERS


class UsageError(ValueError):
    """Bad command-line input; the message names the flag and what it accepts."""


class HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to a flag's help unless the help already states its default."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or action.default in (None, False, argparse.SUPPRESS)
                or isinstance(action, argparse._StoreTrueAction)):
            return text
        if isinstance(action.default, float):  # 64, not 64.0
            return text + f" (default: {action.default:g})"
        return text + " (default: %(default)s)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors raise UsageError (one line, no usage dump)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # argparse's hook
        raise UsageError(message)


def quiet_stdout() -> None:
    """After a BrokenPipeError (output piped into ``head``): point stdout at /dev/null, so that
    the interpreter's final flush does not raise again on the way out."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


# ----------------------------------------------------------------------------- hardware options

@dataclass(frozen=True)
class Option:
    """One hardware flag: what it sets, how its values parse, and its help.

    ``field`` is an ArrayConfig field, ``sram_kb`` (all three SRAMs at one size) or ``batch``;
    values are ``kind`` (int, float or str), each in ``low``..``high`` or one of ``allowed``.
    """

    flag: str
    field: str
    kind: str
    help: str
    low: float | None = None
    high: float | None = None
    allowed: tuple | None = None
    accepts: str = ""

    @property
    def dest(self) -> str:
        return self.flag[2:].replace("-", "_")


_CONFIG_DEFAULTS = {f.name: f.default for f in fields(ArrayConfig)}
# One SRAM size sizes the ifmap, filter and ofmap SRAMs alike.
SRAM_FIELDS = ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb")
DEFAULTS = {**_CONFIG_DEFAULTS, "sram_kb": _CONFIG_DEFAULTS["ifmap_sram_kb"], "batch": 1}
BITS_ACCEPTS = f"widths {ALLOWED_BITS_TEXT}"
GROUP_TITLES = {"array": "array", "memory": "memory", "clock": "clock", "batch": "workload size"}
# The cost model's switches (ArrayConfig.wide_layers, .between_layers, and the built-in
# networks' ends).
WIDE_LAYERS_HELP = ("where a layer wider than the PE runs: host (a unit of the array's size "
                    "built from PEs of the layer's widths; its rows and energy are reported "
                    "apart) or passes (bit-serial passes of an integer layer on the array)")
BETWEEN_LAYERS_HELP = ("sram: a layer's output stays on chip as the next layer's input as far "
                       "as it fits; dram: every layer's output goes to DRAM and back "
                       "(SCALE-Sim's accounting)")
QUANTIZE_ENDS_HELP = ("quantize a built-in network's first conv and last FC to the array's "
                      "widths too (default: fp32, as WRPN trains them; no accuracy table holds "
                      "such a network, so a sweep leaves its accuracy empty)")
DATAFLOW_HELP = ", ".join(f"{flow.name} ({flow.description.split(':')[0]})"
                          for flow in dataflows.REGISTRY)
OPTIONS = {
    "array": (
        Option("--rows", "rows", "int", f"PE array rows, 1..{MAX_ARRAY_SIDE}", low=1,
               high=MAX_ARRAY_SIDE),
        Option("--cols", "cols", "int", f"PE array columns, 1..{MAX_ARRAY_SIDE}", low=1,
               high=MAX_ARRAY_SIDE),
        Option("--dataflow", "dataflow", "str", DATAFLOW_HELP, allowed=dataflows.NAMES),
        Option("--wbits", "wbits", "int", f"weight width: {ALLOWED_BITS_TEXT}; 1 binary, 2 "
               "ternary", allowed=ALLOWED_BITS, accepts=BITS_ACCEPTS),
        Option("--abits", "abits", "int", f"activation width: {ALLOWED_BITS_TEXT}",
               allowed=ALLOWED_BITS, accepts=BITS_ACCEPTS),
        Option("--acc-bits", "acc_bits", "int", "signed accumulator width of each PE, bits",
               allowed=tuple(range(2, 49)), accepts="integers 2..48"),
        Option("--wide-layers", "wide_layers", "str", WIDE_LAYERS_HELP, allowed=WIDE_LAYERS),
    ),
    "memory": (
        Option("--sram-kb", "sram_kb", "float", "size of each of the ifmap, filter and ofmap "
               f"SRAMs, kB (double-buffered), > 0 and <= {MAX_SRAM_KB:g}", low=1e-9,
               high=MAX_SRAM_KB, accepts=f"sizes in kB > 0 and <= {MAX_SRAM_KB:g}"),
        Option("--dram-bw", "dram_bw_bytes_per_cycle", "float", "DRAM bandwidth, bytes per "
               f"clock, > 0 and <= {MAX_DRAM_BW_BYTES_PER_CYCLE:g}", low=1e-9,
               high=MAX_DRAM_BW_BYTES_PER_CYCLE,
               accepts=f"bytes per cycle > 0 and <= {MAX_DRAM_BW_BYTES_PER_CYCLE:g}"),
        Option("--between-layers", "between_layers", "str", BETWEEN_LAYERS_HELP,
               allowed=BETWEEN_LAYERS),
    ),
    "clock": (
        Option("--freq-mhz", "freq_mhz", "float", f"clock frequency, MHz, > 0 and <= "
               f"{MAX_FREQ_MHZ:g}", low=1e-9, high=MAX_FREQ_MHZ,
               accepts=f"frequencies in MHz > 0 and <= {MAX_FREQ_MHZ:g}"),
    ),
    "batch": (
        Option("--batch", "batch", "int", f"inputs per run, 1..{MAX_BATCH} (energy, power and "
               "memory are reported per inference)", low=1, high=MAX_BATCH),
    ),
}
# Config fields to the flag that sets them, so that ArrayConfig's errors name the flag.
FIELD_FLAGS = {**{f: "--sram-kb" for f in SRAM_FIELDS},
               **{o.field: o.flag for group in OPTIONS.values() for o in group}}
TABLE_HELP = ("constants table of the cost model, CSV or YAML, every entry with its unit and "
              "source as python -m accelsim.cost --show-table prints them (default: "
              "accelsim/tech_45nm.csv, 45 nm)")
LISTS_TITLE = " (each takes a value, a list 4,8,16 or a range 4:32:4 / 4:64:x2)"


def add_hardware_options(parser: argparse.ArgumentParser, *, lists: bool = False,
                         groups=tuple(OPTIONS), only=None, defaults=None,
                         cost_model: bool = True) -> dict[str, argparse._ArgumentGroup]:
    """Add the shared hardware options to ``parser``, a titled argparse group per entry of
    ``groups``; returns the groups by name, for a command to add its own flags to.

    ``lists``: each flag takes a string that the command parses as a value, a list or a range
    (dse.space.parse_values); otherwise one value of the option's kind.  ``only``: the fields
    to add (default every option of the groups); ``defaults``: field -> default overriding the
    shared one (None keeps "not given" visible to the command); ``cost_model``: add the
    cost-model group, ``--table`` and ``--quantize-ends`` (one value each, lists or not).
    """
    types = {"int": int, "float": float, "str": str}
    made = {}
    for name in groups:
        title = GROUP_TITLES[name] + (LISTS_TITLE if lists else "")
        group = made[name] = parser.add_argument_group(title)
        for option in OPTIONS[name]:
            if only is not None and option.field not in only:
                continue
            default = (defaults or {}).get(option.field, DEFAULTS[option.field])
            kwargs = dict(default=default, help=option.help, dest=option.dest)
            if lists:
                kwargs.update(default=None if default is None else as_typed(default))
            else:
                kwargs.update(type=types[option.kind])
                if option.kind == "str" and option.allowed:
                    kwargs.update(choices=option.allowed)
            group.add_argument(option.flag, **kwargs)
    if cost_model:
        made["cost"] = parser.add_argument_group("cost model")
        made["cost"].add_argument("--table", default=None, metavar="FILE", help=TABLE_HELP)
        made["cost"].add_argument("--quantize-ends", action="store_true",
                                  help=QUANTIZE_ENDS_HELP)
    return made


def as_typed(value) -> str:
    """A default as the text a user would type (``64.0`` -> ``64``)."""
    if isinstance(value, (list, tuple)):
        return ",".join(as_typed(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def config_from_args(args: argparse.Namespace, **overrides) -> ArrayConfig:
    """The ArrayConfig that one-value hardware options describe (``overrides`` win); a bad
    value is a UsageError naming its flag."""
    values = {}
    batch = getattr(args, "batch", 1)
    if not 1 <= batch <= MAX_BATCH:
        raise UsageError(f"--batch: {batch}: must be an integer in 1..{MAX_BATCH}")
    for group in OPTIONS.values():
        for option in group:
            if option.field == "batch" or not hasattr(args, option.dest):
                continue
            for field in (SRAM_FIELDS if option.field == "sram_kb" else (option.field,)):
                values[field] = getattr(args, option.dest)
    values.update(overrides)
    try:
        return ArrayConfig(**values)
    except ValueError as err:
        field = str(err).split("=")[0]
        raise UsageError(f"{FIELD_FLAGS.get(field, field)}: {err}") from None
