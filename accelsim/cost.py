"""Width-aware area, energy and power of the PE array, its SRAMs and DRAM.

Every number comes from one constants table (``tech_45nm.csv``: name, value, unit, source),
which a user may replace with a CSV or YAML file of their own for another node.  The PE:

- multiplier part: wbits x abits integer multiplier, its cost a power law in the product
  wbits*abits (Bit Fusion, ISCA 2018: multiplier cost grows with the product of the widths)
  fitted through Horowitz's 8-bit and 32-bit points; the 2-bit ternary PE has none (per bit of
  the activation, an XOR for the conditional negate and an AND for the zero gate, the +1 of the
  negate entering as the accumulator's carry-in); the 1-bit binary PE (+/-1) has only the XORs;
  either width 32 means an fp32 FMA, priced as Horowitz's fp32 multiply plus fp32 add;
- accumulator: an acc_bits integer adder, linear between Horowitz's 8/16/32-bit points;
- pipeline registers: wbits + abits + acc_bits flip-flops, clocked once per MAC.

``python -m accelsim.cost --compare 2x8 32x32`` prints two PEs side by side.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .config import ArrayConfig, FP32_BITS
from .memory import (BITS_PER_KB, add_memory_columns, check_positive, check_widths,
                     join_columns, operand_bits, require_columns)

TABLE_PATH = Path(__file__).with_name("tech_45nm.csv")
OPS_PER_MAC = 2
PE_KINDS = ("binary", "ternary", "int", "fp32")
SRAMS = ("ifmap", "filter", "ofmap")
ENERGY_COLUMNS = ("energy_mac_pj", "energy_reg_pj", "energy_ifmap_sram_pj",
                  "energy_filter_sram_pj", "energy_ofmap_sram_pj", "energy_dram_pj")


# ----------------------------------------------------------------------------- the table

@dataclass(frozen=True)
class TechTable:
    """Named constants with their units and sources; ``table["dff_area_um2"]`` is a float."""

    values: Mapping[str, float]
    units: Mapping[str, str]
    sources: Mapping[str, str]
    path: str

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def frame(self) -> pd.DataFrame:
        """The table as name, value, unit, source rows."""
        return pd.DataFrame({"name": list(self.values), "value": list(self.values.values()),
                             "unit": [self.units[n] for n in self.values],
                             "source": [self.sources[n] for n in self.values]})


def _parse_value(name: str, raw, path: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: entry {name!r} has a non-numeric value {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{path}: entry {name!r} must be a finite number > 0, found {raw!r}")
    return value


def _read_entries(path: Path) -> list[tuple[str, object, str, str]]:
    """(name, raw value, unit, source) rows of a CSV or YAML table."""
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ValueError(f"{path}: reading YAML needs PyYAML (pip install pyyaml), "
                             f"or give the table as CSV") from None
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML ({error})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of name -> value or "
                             f"name -> {{value, unit, source}}")
        rows = []
        for name, entry in data.items():
            if isinstance(entry, dict):
                if "value" not in entry:
                    raise ValueError(f"{path}: entry {name!r} has no 'value'")
                rows.append((str(name), entry["value"], str(entry.get("unit", "")),
                             str(entry.get("source", ""))))
            else:
                rows.append((str(name), entry, "", ""))
        return rows
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"name", "value"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: a constants CSV needs a header with name,value"
                             f"[,unit,source]")
        return [(row["name"].strip(), row["value"], row.get("unit") or "",
                 row.get("source") or "") for row in reader]


def load_table(path: str | Path | None = None) -> TechTable:
    """Read a constants table (CSV name,value,unit,source, or YAML); default: 45 nm.

    A user's table must give every entry the default table has, each a number > 0; a missing,
    unknown, repeated or non-numeric entry is a ValueError naming it.
    """
    if path is None:
        return _default_table()
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"constants table {str(path)!r}: no such file")
    return _build_table(path, _read_entries(path), required=_default_table().values.keys())


@lru_cache(maxsize=1)
def _default_table() -> TechTable:
    return _build_table(TABLE_PATH, _read_entries(TABLE_PATH), required=None)


def _build_table(path: Path, rows, required) -> TechTable:
    values, units, sources = {}, {}, {}
    for name, raw, unit, source in rows:
        if name in values:
            raise ValueError(f"{path}: entry {name!r} appears twice")
        if required is not None and name not in required:
            raise ValueError(f"{path}: unknown entry {name!r}")
        values[name] = _parse_value(name, raw, str(path))
        units[name], sources[name] = unit, source
    for name in required or ():
        if name not in values:
            raise ValueError(f"{path}: entry {name!r} is missing")
    return TechTable(values, units, sources, str(path))


def _table(table) -> TechTable:
    if table is None or isinstance(table, TechTable):
        return table or _default_table()
    if isinstance(table, (str, Path)):
        return load_table(table)
    if isinstance(table, Mapping):  # a dict of overrides on top of the default table
        base = _default_table()
        rows = [(name, table.get(name, base[name]), base.units[name], base.sources[name])
                for name in base.values]
        rows += [(name, value, "", "user") for name, value in table.items()
                 if name not in base.values]
        return _build_table(Path("<dict>"), rows, required=base.values.keys())
    raise ValueError(f"table of type {type(table).__name__}: give a path, a TechTable, "
                     f"a dict or None")


# ----------------------------------------------------------------------------- interpolation

def _piecewise_linear(x, xs, ys):
    """Linear through the points, extended by the end segments' slopes."""
    x = np.asarray(x, dtype=np.float64)
    low = ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
    high = ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
    return np.where(x < xs[0], low, np.where(x > xs[-1], high, np.interp(x, xs, ys)))


def _log_log(x, xs, ys):
    """Piecewise power law through the points, extended by the end segments' exponents."""
    return np.exp(_piecewise_linear(np.log(x), np.log(xs), np.log(ys)))


def int_adder(bits, t: TechTable) -> tuple[np.ndarray, np.ndarray]:
    """(area_um2, energy_pj) of an integer adder, linear between Horowitz's 8/16/32 bits."""
    xs = (8.0, 16.0, 32.0)
    area = _piecewise_linear(bits, xs, [t[f"int_add_{b}b_area_um2"] for b in (8, 16, 32)])
    energy = _piecewise_linear(bits, xs, [t[f"int_add_{b}b_energy_pj"] for b in (8, 16, 32)])
    return area, energy


def int_multiplier(wbits, abits, t: TechTable) -> tuple[np.ndarray, np.ndarray]:
    """(area_um2, energy_pj) of a wbits x abits multiplier: power law in the product."""
    product = np.asarray(wbits, dtype=np.float64) * np.asarray(abits, dtype=np.float64)
    xs = (64.0, 1024.0)  # 8x8 and 32x32
    area = _log_log(product, xs, (t["int_mult_8b_area_um2"], t["int_mult_32b_area_um2"]))
    energy = _log_log(product, xs, (t["int_mult_8b_energy_pj"], t["int_mult_32b_energy_pj"]))
    return area, energy


def sram_energy_pj_per_bit(capacity_kb, t: TechTable) -> np.ndarray:
    """Read energy per bit of an SRAM bank, a piecewise power law through Horowitz's points."""
    xs = (8.0, 32.0, 1024.0)
    ys = [t[f"sram_{s}_read_64b_energy_pj"] for s in ("8kb", "32kb", "1mb")]
    return _log_log(capacity_kb, xs, ys) / 64


def sram_area_um2(capacity_kb, t: TechTable) -> np.ndarray:
    """Area of an SRAM macro: bit cells over the fraction of the macro they fill."""
    bits = np.asarray(capacity_kb, dtype=np.float64) * BITS_PER_KB
    return bits * t["sram_bitcell_area_um2"] / t["sram_array_efficiency"]


# ----------------------------------------------------------------------------- the PE

def pe_arrays(wbits, abits, acc_bits, table=None) -> dict[str, np.ndarray]:
    """The PE model elementwise over width arrays: each part's area (um2) and energy (pJ/MAC).

    ``kind``: 0 binary, 1 ternary, 2 integer multiplier, 3 fp32 FMA (index into PE_KINDS).
    """
    t = _table(table)
    check_widths(wbits, abits, acc_bits)
    wbits, abits, acc_bits = (np.asarray(x, dtype=np.int64) for x in (wbits, abits, acc_bits))
    w_bits, a_bits, acc_word = operand_bits(wbits, abits, acc_bits)
    is_float = (wbits == FP32_BITS) | (abits == FP32_BITS)
    kind = np.where(is_float, 3, np.where(wbits == 1, 0, np.where(wbits == 2, 1, 2)))

    gate_area = np.where(kind == 0, t["xor2_area_um2"], t["xor2_area_um2"] + t["and2_area_um2"])
    small_area = abits * gate_area
    small_energy = small_area * t["logic_energy_pj_per_um2"]
    mult_area, mult_energy = int_multiplier(wbits, abits, t)
    add_area, add_energy = int_adder(acc_bits, t)
    multiplier_area = np.select([kind <= 1, kind == 2], [small_area, mult_area],
                                t["fp32_mult_area_um2"])
    multiplier_energy = np.select([kind <= 1, kind == 2], [small_energy, mult_energy],
                                  t["fp32_mult_energy_pj"])
    accumulator_area = np.where(is_float, t["fp32_add_area_um2"], add_area)
    accumulator_energy = np.where(is_float, t["fp32_add_energy_pj"], add_energy)
    register_bits = w_bits + a_bits + acc_word
    register_area = register_bits * t["dff_area_um2"]
    register_energy = register_bits * t["dff_energy_pj"]
    return {
        "kind": kind,
        "multiplier_area_um2": multiplier_area,
        "multiplier_energy_pj": multiplier_energy,
        "accumulator_area_um2": accumulator_area,
        "accumulator_energy_pj": accumulator_energy,
        "register_bits": register_bits,
        "register_area_um2": register_area,
        "register_energy_pj": register_energy,
        "area_um2": multiplier_area + accumulator_area + register_area,
        "energy_pj_per_mac": multiplier_energy + accumulator_energy + register_energy,
    }


@dataclass(frozen=True)
class PECost:
    """One PE: its parts' area (um2) and energy per MAC (pJ)."""

    wbits: int
    abits: int
    acc_bits: int
    kind: str
    multiplier_area_um2: float
    multiplier_energy_pj: float
    accumulator_area_um2: float
    accumulator_energy_pj: float
    register_bits: int
    register_area_um2: float
    register_energy_pj: float
    area_um2: float
    energy_pj_per_mac: float


def pe_cost(wbits: int, abits: int, acc_bits: int = 32, table=None) -> PECost:
    """Area and energy per MAC of one PE of these widths (see the module docstring)."""
    parts = pe_arrays(wbits, abits, acc_bits, table)
    values = {name: parts[name].item() for name in parts if name != "kind"}
    return PECost(wbits=wbits, abits=abits, acc_bits=acc_bits,
                  kind=PE_KINDS[int(parts["kind"])], **values)


def _area_arrays(rows, cols, wbits, abits, acc_bits, sram_kb: Mapping[str, np.ndarray],
                 t: TechTable) -> dict[str, np.ndarray]:
    """Array area split, elementwise: PE array, edge registers, each SRAM (mm2)."""
    rows, cols = np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64)
    pe = pe_arrays(wbits, abits, acc_bits, t)
    w_bits, a_bits, acc_word = operand_bits(wbits, abits, acc_bits)
    # A systolic array skews operands in and de-skews results out: a triangle of registers
    # on each of its three edges (sequencer logic is not modelled).
    skew_bits = (rows * (rows - 1) / 2 * a_bits + cols * (cols - 1) / 2 * (w_bits + acc_word))
    out = {"pe_area_um2": pe["area_um2"],
           "pe_array_mm2": rows * cols * pe["area_um2"] / 1e6,
           "control_mm2": skew_bits * t["dff_area_um2"] / 1e6}
    for name in SRAMS:
        out[f"{name}_sram_mm2"] = sram_area_um2(sram_kb[name], t) / 1e6
    out["sram_mm2"] = sum(out[f"{name}_sram_mm2"] for name in SRAMS)
    out["total_mm2"] = out["pe_array_mm2"] + out["control_mm2"] + out["sram_mm2"]
    return out


@dataclass(frozen=True)
class ArrayCost:
    """A whole array: its PE, area split (mm2), peak throughput and peak compute power."""

    pe: PECost
    pes: int
    pe_array_mm2: float
    control_mm2: float
    ifmap_sram_mm2: float
    filter_sram_mm2: float
    ofmap_sram_mm2: float
    sram_mm2: float
    total_mm2: float
    peak_tops: float
    peak_pe_array_power_mw: float


def array_cost(cfg: ArrayConfig, table=None) -> ArrayCost:
    """Area of the PE array, its edge registers and SRAMs; peak TOPS and PE-array power."""
    t = _table(table)
    pe = pe_cost(cfg.wbits, cfg.abits, cfg.acc_bits, t)
    sram_kb = {name: getattr(cfg, f"{name}_sram_kb") for name in SRAMS}
    area = _area_arrays(cfg.rows, cfg.cols, cfg.wbits, cfg.abits, cfg.acc_bits, sram_kb, t)
    freq_hz = cfg.freq_mhz * 1e6
    return ArrayCost(pe=pe, pes=cfg.pes,
                     **{name: float(area[name]) for name in
                        ("pe_array_mm2", "control_mm2", "ifmap_sram_mm2", "filter_sram_mm2",
                         "ofmap_sram_mm2", "sram_mm2", "total_mm2")},
                     peak_tops=OPS_PER_MAC * cfg.pes * freq_hz / 1e12,
                     peak_pe_array_power_mw=cfg.pes * pe.energy_pj_per_mac * freq_hz * 1e-9)


# ----------------------------------------------------------------------------- energy of a run

ENERGY_INPUT_COLUMNS = ("macs", "busy_pe_cycles")
WIDTH_KEY = 64  # wbits, abits (<= 32) and acc_bits (<= 48) packed into one integer key


def add_energy_columns(frame: pd.DataFrame, table=None) -> pd.DataFrame:
    """A copy of ``frame`` with energy per component in pJ (adds memory columns if absent).

    energy_mac_pj: multiplier (or ternary unit) and accumulator of every MAC, less what zero
    weights save where ``zero_weight_macs`` is known (a zero weight gates the multiplier inputs
    and holds the accumulator; ``energy_saved_zero_gating_pj`` reports it, NaN where unknown);
    energy_reg_pj: PE pipeline registers, clocked on busy PE cycles (idle PEs clock-gated);
    energy_<sram>_sram_pj: bits read and written at the per-bit energy of one half (one
    buffer) of that SRAM; energy_dram_pj: bits moved at the table's DRAM energy.
    """
    t = _table(table)
    if "total_cycles" not in frame.columns:
        frame = add_memory_columns(frame)
    require_columns(frame, ENERGY_INPUT_COLUMNS, "add_energy_columns")
    check_positive(frame, ENERGY_INPUT_COLUMNS, allow_zero=True)
    # A sweep's rows share a handful of PE kinds and SRAM sizes: price each distinct one once.
    widths = (frame["wbits"].to_numpy(dtype=np.int64) * WIDTH_KEY ** 2
              + frame["abits"].to_numpy(dtype=np.int64) * WIDTH_KEY
              + frame["acc_bits"].to_numpy(dtype=np.int64))
    pe_of_row, distinct = pd.factorize(widths)
    pe = pe_arrays(distinct // WIDTH_KEY ** 2, distinct // WIDTH_KEY % WIDTH_KEY,
                   distinct % WIDTH_KEY, t)
    pe = {name: np.asarray(values)[pe_of_row] for name, values in pe.items()}
    arithmetic_pj = pe["multiplier_energy_pj"] + pe["accumulator_energy_pj"]
    macs = frame["macs"].to_numpy(dtype=np.float64)
    if "zero_weight_macs" in frame.columns:
        zero_macs = frame["zero_weight_macs"].to_numpy(dtype=np.float64)
    else:
        zero_macs = np.full(len(frame), np.nan)
    saved = zero_macs * arithmetic_pj
    out = {}
    out["energy_mac_pj"] = macs * arithmetic_pj - np.nan_to_num(saved)
    out["energy_saved_zero_gating_pj"] = saved
    out["energy_reg_pj"] = (frame["busy_pe_cycles"].to_numpy(dtype=np.float64)
                            * pe["register_energy_pj"])
    write_ratio = t["sram_write_to_read_energy_ratio"]
    for name in SRAMS:
        size_of_row, sizes_kb = pd.factorize(frame[f"{name}_sram_kb"].to_numpy(dtype=np.float64))
        per_bit = sram_energy_pj_per_bit(sizes_kb / 2, t)[size_of_row]
        out[f"energy_{name}_sram_pj"] = per_bit * (
            frame[f"{name}_sram_read_bits"].to_numpy(dtype=np.float64)
            + write_ratio * frame[f"{name}_sram_write_bits"].to_numpy(dtype=np.float64))
    out["energy_dram_pj"] = (frame["dram_read_bits"].to_numpy(dtype=np.float64)
                             + frame["dram_write_bits"].to_numpy(dtype=np.float64)
                             ) * (t["dram_64b_energy_pj"] / 64)
    out["energy_total_pj"] = sum(out[name] for name in ENERGY_COLUMNS)
    return join_columns(frame, out)


SUMMED_COLUMNS = ("macs", "cycles", "stall_cycles", "total_cycles", "dram_read_bits",
                  "dram_write_bits") + ENERGY_COLUMNS + ("energy_total_pj",
                                                         "energy_saved_zero_gating_pj")
SUMMARY_CONFIG_COLUMNS = ("rows", "cols", "wbits", "abits", "acc_bits", "freq_mhz",
                          "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb")


def network_summary(frame: pd.DataFrame, table=None, by=None):
    """Totals of a run per design point: cycles, energy by component, power, area, TOPS.

    ``frame``: per-layer rows with config columns (``simulate_network``'s output, or a sweep's).
    With ``by=None`` the frame must hold one design point and a dict comes back; with ``by``
    (column names identifying design points) a DataFrame with a row per design point.
    Power is energy over latency at freq_mhz, stalls included; TOPS count 2 ops per MAC.
    """
    t = _table(table)
    if "energy_total_pj" not in frame.columns:
        frame = add_energy_columns(frame, t)
    require_columns(frame, SUMMARY_CONFIG_COLUMNS, "network_summary")
    if by is None:
        for name in SUMMARY_CONFIG_COLUMNS:
            if frame[name].nunique() > 1:
                raise ValueError(f"network_summary: column {name} has several values; pass "
                                 f"by=[...] to summarise several design points")
        keys: list[str] = []
        grouped = frame.groupby(np.zeros(len(frame), dtype=np.int8), sort=False)
    else:
        keys = [by] if isinstance(by, str) else list(by)
        require_columns(frame, keys, "network_summary")
        grouped = frame.groupby(keys, sort=False, dropna=False)
    config = [name for name in SUMMARY_CONFIG_COLUMNS if name not in keys]
    summary = pd.concat([grouped[config].first(), grouped[list(SUMMED_COLUMNS)].sum(min_count=1),
                         grouped.size().rename("layers")], axis=1)
    summary = summary.reset_index(drop=not keys)
    freq_hz = summary["freq_mhz"] * 1e6
    summary["latency_s"] = summary["total_cycles"] / freq_hz
    summary["energy_uj"] = summary["energy_total_pj"] / 1e6
    summary["power_mw"] = summary["energy_total_pj"] * 1e-12 / summary["latency_s"] * 1e3
    area = _area_arrays(summary["rows"].to_numpy(), summary["cols"].to_numpy(),
                        summary["wbits"].to_numpy(), summary["abits"].to_numpy(),
                        summary["acc_bits"].to_numpy(),
                        {name: summary[f"{name}_sram_kb"].to_numpy() for name in SRAMS}, t)
    for name in ("pe_array_mm2", "control_mm2", "sram_mm2", "total_mm2"):
        summary[name] = area[name]
    summary["peak_tops"] = OPS_PER_MAC * summary["rows"] * summary["cols"] * freq_hz / 1e12
    summary["achieved_tops"] = OPS_PER_MAC * summary["macs"] / summary["latency_s"] / 1e12
    summary["tops_per_w"] = summary["achieved_tops"] / (summary["power_mw"] / 1e3)
    if by is None:
        return {name: _python_scalar(summary[name].iloc[0]) for name in summary.columns}
    return summary


def _python_scalar(value):
    return value.item() if isinstance(value, np.generic) else value


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
    from .network import simulate_network
    from .workload import Layer, Workload

    t = _table(table)
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

def parse_widths(text: str) -> tuple[int, int]:
    """'2x8' -> (wbits=2, abits=8); ValueError naming the text otherwise."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"{text!r}: expected WBITSxABITS such as 2x8 or 32x32")
    wbits, abits = (int(p) for p in parts)
    check_widths(wbits, abits, 32)
    return wbits, abits


def compare_text(specs: list[str], *, rows: int = 8, cols: int = 8, acc_bits: int = 32,
                 model: str = "resnet56", dataflow: str = "os", table=None) -> str:
    """The PEs of ``specs`` side by side, then their 8x8 arrays and a network run."""
    from .network import simulate_network

    t = _table(table)
    widths = [parse_widths(spec) for spec in specs]
    pes = [pe_cost(w, a, acc_bits, t) for w, a in widths]
    configs = [ArrayConfig(rows=rows, cols=cols, wbits=w, abits=a, acc_bits=acc_bits,
                           dataflow=dataflow) for w, a in widths]
    arrays = [array_cost(cfg, t) for cfg in configs]
    runs = [network_summary(simulate_network(model, cfg, engine="analytic", table=t), t)
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
         [(r["energy_mac_pj"] + r["energy_reg_pj"]) / 1e6 for r in runs]),
        (f"{model} {dataflow} SRAM energy uJ",
         [sum(r[f"energy_{n}_sram_pj"] for n in SRAMS) / 1e6 for r in runs]),
        (f"{model} {dataflow} DRAM energy uJ", [r["energy_dram_pj"] / 1e6 for r in runs]),
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
        if len(values) == 2 and values[0] > 0:
            text += f"{values[1] / values[0]:>9.1f}x"
        out.append(text)
    if len(pes) == 2:
        out.append(f"paper (Sec. 3): the 2x8 PE array is 15x smaller and 12x more power "
                   f"efficient than full precision; ours: {pes[1].area_um2 / pes[0].area_um2:.1f}x "
                   f"area, {pes[1].energy_pj_per_mac / pes[0].energy_pj_per_mac:.1f}x power "
                   f"per PE")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m accelsim.cost",
        description="Width-aware PE / array area, energy and power (45 nm table by default).")
    parser.add_argument("--compare", nargs="+", metavar="WxA",
                        help="PEs to print side by side, e.g. 2x8 32x32 (32 = fp32)")
    parser.add_argument("--rows", type=int, default=8, help="array rows for --compare (default 8)")
    parser.add_argument("--cols", type=int, default=8, help="array cols for --compare (default 8)")
    parser.add_argument("--acc-bits", type=int, default=32,
                        help="integer accumulator width (default 32)")
    parser.add_argument("--model", default="resnet56",
                        help="network run for --compare's energy rows (default resnet56)")
    parser.add_argument("--dataflow", default="os", help="os | ws | is (default os)")
    parser.add_argument("--tpu-v1", action="store_true",
                        help="print our estimate of a TPU-v1-like array beside the published chip")
    parser.add_argument("--table", default=None,
                        help="constants table, CSV or YAML (default accelsim/tech_45nm.csv)")
    parser.add_argument("--show-table", action="store_true",
                        help="print the constants table with the source of every number")
    args = parser.parse_args(argv)
    try:
        table = load_table(args.table)
        if not (args.compare or args.tpu_v1 or args.show_table):
            parser.error("give --compare WxA [WxA ...], --tpu-v1 or --show-table")
        if args.show_table:
            with pd.option_context("display.max_colwidth", 200, "display.width", 250):
                print(table.frame().to_string(index=False))
        if args.compare:
            print(compare_text(args.compare, rows=args.rows, cols=args.cols,
                               acc_bits=args.acc_bits, model=args.model,
                               dataflow=args.dataflow, table=table))
        if args.tpu_v1:
            with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 200):
                print(tpu_v1_check(table).to_string(index=False))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    # run the package's copy of this module, so its classes are the ones the rest of accelsim
    # imports (this file is executed as __main__, a second copy)
    from accelsim.cost import main as package_main
    sys.exit(package_main())
