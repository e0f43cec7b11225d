"""The cost model's reports: two PEs side by side, a TPU-v1-like array beside the published chip,
and ``python -m accelsim.cost``, which prints them.

    python -m accelsim.cost --compare 2x8 32x32   # two PEs, their arrays and a network run
    python -m accelsim.cost --tpu-v1              # against Jouppi et al., ISCA 2017
    python -m accelsim.cost --show-table          # every constant with its source

These run whole networks, so they sit above ``accelsim.network``, which itself prices its rows
with ``accelsim.cost``: kept there, they closed an import circle.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from .. import cli
from ..cli import ArgumentParser
from ..config import ArrayConfig
from ..memory import check_widths
from ..network import simulate_network
from ..workload import Layer, Workload
from . import SRAMS, array_cost, load_table, network_summary, pe_cost, resolve_table

# ----------------------------------------------------------------------------- a real chip

# Google TPU v1, from N. P. Jouppi et al., "In-Datacenter Performance Analysis of a Tensor
# Processing Unit", ISCA 2017: a 256x256 array of 8-bit MACs at 700 MHz (Sec. 2), 24 MiB
# Unified Buffer (activations), 4 MiB of 32-bit accumulators, a weight FIFO four 64 KiB tiles
# deep, 34 GB/s of DDR3 (Table 2 / Sec. 2), 28 nm, die <= 331 mm2, 92 peak TOPS, 40 W busy and
# 75 W TDP (Table 2).
TPU_V1 = {"node_nm": 28, "rows": 256, "cols": 256, "freq_mhz": 700, "unified_buffer_kb": 24 * 1024,
          "accumulator_kb": 4 * 1024, "weight_fifo_kb": 4 * 64, "dram_gb_per_s": 34,
          "die_mm2": 331, "peak_tops": 92, "busy_w": 40, "tdp_w": 75}


def tpu_v1_config() -> ArrayConfig:
    """An 8b x 8b weight-stationary array shaped and clocked like TPU v1 (Jouppi et al. 2017)."""
    return ArrayConfig(rows=TPU_V1["rows"], cols=TPU_V1["cols"], wbits=8, abits=8, dataflow="ws",
                       freq_mhz=float(TPU_V1["freq_mhz"]),
                       ifmap_sram_kb=float(TPU_V1["unified_buffer_kb"]),
                       filter_sram_kb=float(TPU_V1["weight_fifo_kb"]),
                       ofmap_sram_kb=float(TPU_V1["accumulator_kb"]),
                       dram_bw_bytes_per_cycle=TPU_V1["dram_gb_per_s"] * 1e3 / TPU_V1["freq_mhz"])


def tpu_v1_check(table=None) -> pd.DataFrame:
    """Our model of a TPU-v1-like array beside the published chip.

    Workload: one fully connected layer, batch 2048, 4096 -> 256 (its activations fit in half
    the Unified Buffer and its partial sums in half the accumulators, so no refetch or spill
    clouds the comparison); average power is its energy over its latency, stalls included (the
    chip's "busy" figure is its average while running).  Scaling 45 -> 28 nm
    is an estimate: area by (28/45)^2, energy by 28/45 (switched capacitance at equal voltage).
    """
    t = resolve_table(table)
    cfg = tpu_v1_config()
    layer = Layer("fc", 1, 1, 1, 1, 4096, 256, wbits=8, abits=8)
    frame = simulate_network(Workload("tpu_check_fc", (layer,)), cfg, batch=2048,
                             engine="analytic", table=t)
    run = network_summary(frame, t)
    area = array_cost(cfg, t)
    power_w = run["power_mw"] / 1e3
    length = TPU_V1["node_nm"] / t["node_nm"]
    rows = [
        ("peak TOPS (8b)", area.peak_tops, area.peak_tops, TPU_V1["peak_tops"]),
        ("PE array mm2", area.pe_array_mm2, area.pe_array_mm2 * length ** 2, None),
        ("SRAM mm2 (UB + acc + FIFO)", area.sram_mm2, area.sram_mm2 * length ** 2, None),
        ("array + SRAM mm2 (die)", area.total_mm2, area.total_mm2 * length ** 2,
         TPU_V1["die_mm2"]),
        ("peak PE-array power W", area.peak_pe_array_power_mw / 1e3,
         area.peak_pe_array_power_mw / 1e3 * length, None),
        ("average power W (FC layer; busy)", power_w, power_w * length, TPU_V1["busy_w"]),
        ("  of which DRAM W", run["energy_dram_pj"] / run["energy_total_pj"] * power_w,
         run["energy_dram_pj"] / run["energy_total_pj"] * power_w * length, None),
        ("peak TOPS / average W", area.peak_tops / power_w, area.peak_tops / (power_w * length),
         TPU_V1["peak_tops"] / TPU_V1["busy_w"]),
        ("achieved TOPS (FC layer)", run["achieved_tops"], run["achieved_tops"], None),
        ("stall cycles / compute cycles", run["stall_cycles"] / run["cycles"],
         run["stall_cycles"] / run["cycles"], None),
    ]
    return pd.DataFrame(rows, columns=["metric", f"ours_{t['node_nm']:g}nm",
                                       f"ours_scaled_{TPU_V1['node_nm']}nm", "published"])


# ----------------------------------------------------------------------------- command line

# The shared hardware options that shape --compare's arrays (wbits and abits come from WxA).
HARDWARE_FIELDS = ("rows", "cols", "dataflow", "acc_bits", "wide_layers", "sram_kb",
                   "dram_bw_bytes_per_cycle", "between_layers", "freq_mhz")

def parse_widths(text: str) -> tuple[int, int]:
    """'2x8' -> (wbits=2, abits=8); ValueError naming the text otherwise."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"{text!r}: expected WBITSxABITS such as 2x8 or 32x32")
    wbits, abits = (int(p) for p in parts)
    check_widths(wbits, abits, 32)
    return wbits, abits


def compare_text(specs: list[str], *, base: ArrayConfig = ArrayConfig(),
                 model: str = "resnet56", table=None, quantize_ends: bool = False) -> str:
    """The PEs of ``specs`` side by side, then their arrays (``base`` at each spec's widths)
    and a network run.

    The run keeps the network's own widths (a built-in network's fp32 ends unless
    ``quantize_ends``), so a narrow array's run includes its host unit's energy."""
    t = resolve_table(table)
    widths = [parse_widths(spec) for spec in specs]
    rows, cols, acc_bits, dataflow = base.rows, base.cols, base.acc_bits, base.dataflow
    pes = [pe_cost(w, a, acc_bits, t) for w, a in widths]
    configs = [replace(base, wbits=w, abits=a) for w, a in widths]
    arrays = [array_cost(cfg, t) for cfg in configs]
    runs = [network_summary(simulate_network(model, cfg, engine="analytic", table=t,
                                             quantize_ends=quantize_ends), t)
            for cfg in configs]
    lines: list[tuple[str, list[float]]] = [
        ("multiplier / ternary unit area um2", [p.multiplier_area_um2 for p in pes]),
        ("accumulator area um2", [p.accumulator_area_um2 for p in pes]),
        ("pipeline registers area um2", [p.register_area_um2 for p in pes]),
        ("PE area um2", [p.area_um2 for p in pes]),
        ("multiplier / ternary unit pJ/MAC", [p.multiplier_energy_pj for p in pes]),
        ("accumulator pJ/MAC", [p.accumulator_energy_pj for p in pes]),
        ("pipeline registers pJ/MAC", [p.register_energy_pj for p in pes]),
        ("PE energy pJ/MAC (= power ratio)", [p.energy_pj_per_mac for p in pes]),
        (f"{rows}x{cols} PEs + edge registers mm2",
         [a.pe_array_mm2 + a.control_mm2 for a in arrays]),
        (f"  + SRAMs ({configs[0].ifmap_sram_kb:g} KB x 3) mm2", [a.total_mm2 for a in arrays]),
        (f"{model} {dataflow} compute energy uJ",
         [(r["energy_mac_pj"] + r["energy_reg_pj"] + r["energy_shift_add_pj"]) / 1e6
          for r in runs]),
        (f"{model} {dataflow} SRAM energy uJ",
         [sum(r[f"energy_{n}_sram_pj"] for n in SRAMS) / 1e6 for r in runs]),
        (f"{model} {dataflow} DRAM energy uJ", [r["energy_dram_pj"] / 1e6 for r in runs]),
        (f"{model} {dataflow} energy uJ", [r["energy_uj"] for r in runs]),
        ("  of which on the host unit uJ", [r["energy_host_pj"] / 1e6 for r in runs]),
        (f"{model} {dataflow} power mW at {configs[0].freq_mhz:g} MHz",
         [r["power_mw"] for r in runs]),
    ]
    names = [f"{w}x{a} {p.kind}" for (w, a), p in zip(widths, pes)]
    head = f"{'(' + Path(t.path).name + ', acc ' + str(acc_bits) + ' b)':<38}"
    head += "".join(f"{name:>14}" for name in names)
    if len(pes) == 2:
        head += f"{'ratio':>10}"
    out = [head]
    for label, values in lines:
        text = f"{label:<38}" + "".join(f"{v:>14.4g}" for v in values)
        if len(values) == 2 and values[0] > 0 and values[1] > 0:
            text += f"{values[1] / values[0]:>9.1f}x"
        out.append(text)
    ends = "quantized" if quantize_ends else "fp32 (WRPN)"
    out.append(f"network run: {model}, first conv and FC {ends}; wide layers: "
               f"{base.wide_layers}; between layers: {base.between_layers}; zero_gating: none")
    if len(pes) == 2:
        out.append(f"paper (Sec. 3): the 2x8 PE array is 15x smaller and 12x more power "
                   f"efficient than full precision; ours: {pes[1].area_um2 / pes[0].area_um2:.1f}x "
                   f"area, {pes[1].energy_pj_per_mac / pes[0].energy_pj_per_mac:.1f}x power "
                   f"per PE")
    return "\n".join(out)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m accelsim.cost",
        description="Width-aware PE / array area, energy and power (45 nm table by default).")
    parser.add_argument("--compare", nargs="+", metavar="WxA",
                        help="PEs to print side by side, e.g. 2x8 32x32 (32 = fp32)")
    parser.add_argument("--model", default="resnet56",
                        help="network run for --compare's energy rows")
    parser.add_argument("--tpu-v1", action="store_true",
                        help="print our estimate of a TPU-v1-like array beside the published chip")
    # The arrays --compare builds: the shared hardware options, widths coming from WxA.
    cli.add_hardware_options(parser, groups=("array", "memory", "clock"),
                             only=HARDWARE_FIELDS)
    parser.add_argument("--show-table", action="store_true",
                        help="print the constants table with the source of every number")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m accelsim.cost``; bad input is one line on stderr and exit status 2."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        try:
            table = load_table(args.table)
        except ValueError as error:
            raise cli.UsageError(f"--table: {error}") from None
        if not (args.compare or args.tpu_v1 or args.show_table):
            parser.error("give --compare WxA [WxA ...], --tpu-v1 or --show-table")
        if args.show_table:
            with pd.option_context("display.max_colwidth", 200, "display.width", 250):
                print(table.frame().to_string(index=False))
        if args.compare:
            base = cli.config_from_args(args)
            for spec in args.compare:
                try:
                    parse_widths(spec)
                except ValueError as error:
                    raise cli.UsageError(f"--compare: {error}") from None
            try:
                text = compare_text(args.compare, base=base, model=args.model, table=table,
                                    quantize_ends=args.quantize_ends)
            except ValueError as error:   # the network of the energy rows
                raise cli.UsageError(f"--model {args.model}: {error}") from None
            print(text)
        if args.tpu_v1:
            with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 200):
                print(tpu_v1_check(table).to_string(index=False))
    except BrokenPipeError:  # piped into head & co.
        cli.quiet_stdout()
        return 141
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
