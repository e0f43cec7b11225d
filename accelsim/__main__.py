"""Simulate one network on one array from the command line.

    python -m accelsim --model resnet20 --rows 8 --cols 8 --wbits 2 --abits 8 --dataflow os
    python -m accelsim --trace runs/x/trace.csv --engine cycle --csv layers.csv
    python -m accelsim --model resnet56 --export-scalesim resnet56_topo.csv
    python -m accelsim --onnx model.onnx --input 1,3,224,224 --engine analytic
    python -m accelsim --model resnet20 --wide-layers passes --between-layers dram
"""
from __future__ import annotations

import sys

from . import cli
from .cli import ArgumentParser
from .cost import load_table, network_summary, run_notes
from .fileio import unwritable, write_atomic
from .graph import parse_shape
from .network import ENGINES, overflow_note, resolve_workload, simulate_network
from .onnx_import import read_onnx
from .workload import builtin_names, scalesim_topology_text


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m accelsim", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", default="resnet20",
                        help=f"built-in network: {', '.join(builtin_names())}")
    source.add_argument("--trace", help="our layer-trace CSV or a SCALE-Sim topology CSV")
    source.add_argument("--onnx", help="an ONNX model: Conv / Gemm / MatMul (and QLinear*, "
                        "*Integer) on the array, widths from QONNX / QCDQ annotations, other "
                        "ops on the host")
    parser.add_argument("--input", help="with --onnx: the input's shape, e.g. 1,3,224,224, "
                        "where the file leaves dimensions dynamic")
    cli.add_hardware_options(parser)
    parser.add_argument("--engine", default="cycle", choices=ENGINES,
                        help="cycle (clock by clock) or analytic (closed form)")
    parser.add_argument("--csv", help="write the per-layer table to this CSV (atomically)")
    parser.add_argument("--export-scalesim",
                        help="write the network as a SCALE-Sim topology CSV and exit")
    return parser


def write_output(flag: str, path: str, text: str) -> None:
    """write_atomic, its failure (a full disk, a folder made read-only since the check) named
    by the flag and the path, not by the hidden temporary file beside it."""
    try:
        write_atomic(path, text)
    except OSError as err:
        raise cli.UsageError(f"{flag}: cannot write {path!r} ({err.strerror or err})") from None


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # piped into head & co.: the reader has all it wanted
        cli.quiet_stdout()
        return 141
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    cfg = cli.config_from_args(args)
    for flag, path in (("--csv", args.csv), ("--export-scalesim", args.export_scalesim)):
        why = path and unwritable(path)
        if why:
            raise cli.UsageError(f"{flag}: {path!r} {why}; accepts a file path to write")
    try:
        table = load_table(args.table)
    except ValueError as err:
        raise cli.UsageError(f"--table: {err}") from None
    if args.onnx:
        if args.quantize_ends:
            raise ValueError("--quantize-ends applies to built-in networks; an ONNX model "
                             "carries its own layer widths")
        shape = parse_shape(args.input) if args.input else None
        workload = read_onnx(args.onnx, input_shape=shape)
    elif args.input:
        raise ValueError("--input goes with --onnx (a trace or built-in has its shapes)")
    else:
        workload = resolve_workload(args.trace or args.model, cfg,
                                    quantize_ends=args.quantize_ends)
    if args.export_scalesim:
        write_output("--export-scalesim", args.export_scalesim,
                     scalesim_topology_text(workload))
        print(f"wrote {args.export_scalesim} ({len(workload.layers)} layers)")
        return 0
    try:
        frame = simulate_network(workload, cfg, batch=args.batch, engine=args.engine,
                                 table=table)
    except ValueError as err:  # a layer too large to count, codes the array refuses
        source = (f"--onnx {args.onnx}" if args.onnx else f"--trace {args.trace}" if args.trace
                  else f"--model {args.model}")
        raise cli.UsageError(f"{source}: {err}") from None
    if args.csv:
        write_output("--csv", args.csv, frame.to_csv(index=False))
    shown = frame[["layer", "op", "layer_wbits", "layer_abits", "runs_on", "passes", "M", "N",
                   "K", "gemms", "cycles", "stall_cycles", "utilization", "zero_weight_macs",
                   "energy_total_pj"]].rename(columns={"layer_wbits": "wbits",
                                                       "layer_abits": "abits"})
    shown["energy_total_pj"] = shown["energy_total_pj"].round(0)
    shown["utilization"] = shown["utilization"].round(3)
    print(f"{workload.name} on a {cfg.rows}x{cfg.cols} {cfg.dataflow.upper()} array, "
          f"{cfg.wbits}-bit weights x {cfg.abits}-bit activations (the PE), {args.engine} "
          "engine; wbits/abits below are each layer's own")
    print(shown.to_string(index=False))
    summary = network_summary(frame, table)
    hosted = frame.loc[(frame["runs_on"] == "host") & (frame["gemms"] > 0), "layer"].tolist()
    print()
    print("\n".join(run_notes(
        wide_layers=cfg.wide_layers, between_layers=cfg.between_layers,
        zero_gating=frame.attrs["zero_gating"], host_layers=summary["host_layers"],
        host_energy_uj=summary["energy_host_pj"] / 1e6, passes_layers=summary["passes_layers"],
        dram_share=summary["energy_dram_share"], host_names=hosted)))
    print(overflow_note(frame))
    print(f"total: {summary['cycles']:,} compute cycles (SCALE-Sim accounting) + "
          f"{summary['stall_cycles']:,} stall cycles; {summary['macs']:,} MACs; "
          f"{summary['energy_uj']:.2f} uJ per inference; {summary['power_mw']:.1f} mW at "
          f"{cfg.freq_mhz:g} MHz; {summary['total_mm2']:.3f} mm^2; "
          f"{summary['tops_per_w']:.2f} TOPS/W")
    return 0


if __name__ == "__main__":
    sys.exit(main())
