"""Width-aware area, energy and power of the PE array, its SRAMs and DRAM.

Every number comes from one constants table (``tech_45nm.csv``: name, value, unit, source),
which a user may replace with a CSV or YAML file of their own for another node.  A PE is
priced from its parts, chosen as ``accelsim.pe`` says:

- product unit, by the weight side: binary (+/-1 weights): an XOR per activation bit (the
  conditional negate; its +1 enters as the adder's carry-in); ternary: an XOR and an AND (the
  zero gate) per activation bit; on fp32 activations either needs one XOR on the sign bit (and
  the ternary unit an AND per bit); an integer wbits x abits multiplier, its cost a power law
  in the product wbits*abits (Bit Fusion, ISCA 2018: multiplier cost grows with the product of
  the widths) fitted through Horowitz's 8-bit and 32-bit points; an fp32 multiplier
  (Horowitz's) for fp32 weights or integer weights on fp32 activations;
- adder and accumulator, by the datapath: Horowitz's fp32 adder where either operand is fp32,
  else an acc_bits integer adder, linear between Horowitz's 8/16/32-bit points;
- pipeline registers: wbits + abits + accumulator-word flip-flops, clocked once per MAC.
So a 2b x fp32 PE is a sign-select plus an fp32 adder, and only fp32 x fp32 pays for both fp32
units.  A layer on the host unit is priced with PEs of its own widths; bit-serial passes pay
the array's PE once per pass and an adder per output per extra pass (the shift is a fixed
wiring offset per pass, not priced).

``python -m accelsim.cost --compare 2x8 32x32`` prints two PEs side by side
(``accelsim.cost.report``, which runs networks and so sits above ``accelsim.network``; this
module imports no simulator, so ``network`` can price its rows with it).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .. import pe as pe_kinds
from ..config import ArrayConfig
from ..formats import BITS_PER_KB, FP32_BITS
from ..memory import (add_memory_columns, check_positive, check_widths, column, column_is,
                      join_columns, require_columns, unit_widths)

TABLE_PATH = Path(__file__).parents[1] / "tech_45nm.csv"
OPS_PER_MAC = 2
PE_KINDS = pe_kinds.PRODUCT_UNITS  # indexed by accelsim.pe's codes
SRAMS = ("ifmap", "filter", "ofmap")
ENERGY_COLUMNS = ("energy_mac_pj", "energy_reg_pj", "energy_shift_add_pj",
                  "energy_ifmap_sram_pj", "energy_filter_sram_pj", "energy_ofmap_sram_pj",
                  "energy_dram_pj")


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
            detail = " ".join(str(error).split())  # PyYAML's message spans lines
            raise ValueError(f"{path}: not valid YAML ({detail})") from None
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
        raise ValueError(f"constants table {str(path)!r}: "
                         + ("a folder, not a file" if path.is_dir() else "no such file"))
    try:
        entries = _read_entries(path)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"constants table {str(path)!r}: cannot be read as text ({err})"
                         ) from None
    return _build_table(path, entries, required=_default_table().values.keys())


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


def resolve_table(table) -> TechTable:
    """The table a ``table=`` argument names: None (45 nm), a path, a TechTable or a dict of
    overrides on the default."""
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

    ``kind``: the product unit's code (``accelsim.pe``: index into PE_KINDS);
    ``float_adder``: True where the adder and accumulator are fp32.
    """
    t = resolve_table(table)
    check_widths(wbits, abits, acc_bits)
    wbits, abits, acc_bits = (np.asarray(x, dtype=np.int64) for x in (wbits, abits, acc_bits))
    kind = pe_kinds.product_unit(wbits, abits)
    float_adder = pe_kinds.float_datapath(wbits, abits)
    acc_word = pe_kinds.accumulator_bits(wbits, abits, acc_bits)

    # Sign units: negating an integer touches every bit, negating a float only its sign bit.
    negated_bits = np.where(abits == FP32_BITS, 1, abits)
    sign_area = (negated_bits * t["xor2_area_um2"]
                 + np.where(kind == pe_kinds.TERNARY, abits * t["and2_area_um2"], 0.0))
    sign_energy = sign_area * t["logic_energy_pj_per_um2"]
    mult_area, mult_energy = int_multiplier(wbits, abits, t)
    product_area = np.select([kind <= pe_kinds.TERNARY, kind == pe_kinds.INT],
                             [sign_area, mult_area], t["fp32_mult_area_um2"])
    product_energy = np.select([kind <= pe_kinds.TERNARY, kind == pe_kinds.INT],
                               [sign_energy, mult_energy], t["fp32_mult_energy_pj"])
    add_area, add_energy = adder(wbits, abits, acc_bits, t)
    register_bits = wbits + abits + acc_word
    register_area = register_bits * t["dff_area_um2"]
    register_energy = register_bits * t["dff_energy_pj"]
    return {
        "kind": kind,
        "float_adder": float_adder,
        "multiplier_area_um2": product_area,
        "multiplier_energy_pj": product_energy,
        "accumulator_area_um2": add_area,
        "accumulator_energy_pj": add_energy,
        "register_bits": register_bits,
        "register_area_um2": register_area,
        "register_energy_pj": register_energy,
        "area_um2": product_area + add_area + register_area,
        "energy_pj_per_mac": product_energy + add_energy + register_energy,
    }


def adder(wbits, abits, acc_bits, t: TechTable) -> tuple[np.ndarray, np.ndarray]:
    """(area_um2, energy_pj) of a PE's adder: fp32 on an fp32 datapath, else acc_bits integer."""
    int_area, int_energy = int_adder(acc_bits, t)
    is_float = pe_kinds.float_datapath(wbits, abits)
    return (np.where(is_float, t["fp32_add_area_um2"], int_area),
            np.where(is_float, t["fp32_add_energy_pj"], int_energy))


@dataclass(frozen=True)
class PECost:
    """One PE: its parts' area (um2) and energy per MAC (pJ)."""

    wbits: int
    abits: int
    acc_bits: int
    kind: str          # product unit (PE_KINDS), '+fp32add' where a sign unit meets fp32
    float_adder: bool
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
                  kind=pe_kinds.kind_name(wbits, abits), **values)


def _area_arrays(rows, cols, wbits, abits, acc_bits, sram_kb: Mapping[str, np.ndarray],
                 t: TechTable) -> dict[str, np.ndarray]:
    """Array area split, elementwise: PE array, edge registers, each SRAM (mm2)."""
    rows, cols = np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64)
    pe = pe_arrays(wbits, abits, acc_bits, t)
    w_bits, a_bits = np.asarray(wbits), np.asarray(abits)
    acc_word = pe_kinds.accumulator_bits(wbits, abits, acc_bits)
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
    t = resolve_table(table)
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


def unit_pe_arrays(frame: pd.DataFrame, t: TechTable) -> dict[str, np.ndarray]:
    """``pe_arrays`` of the PE that runs each row (the array's, or the host unit's), per row.

    A sweep's rows share a handful of PE kinds: each distinct one is priced once."""
    unit_w, unit_a = unit_widths(frame)
    widths = (unit_w.astype(np.int64) * WIDTH_KEY ** 2 + unit_a.astype(np.int64) * WIDTH_KEY
              + frame["acc_bits"].to_numpy(dtype=np.int64))
    pe_of_row, distinct = pd.factorize(widths)
    pe = pe_arrays(distinct // WIDTH_KEY ** 2, distinct // WIDTH_KEY % WIDTH_KEY,
                   distinct % WIDTH_KEY, t)
    return {name: np.asarray(values)[pe_of_row] for name, values in pe.items()}


def add_energy_columns(frame: pd.DataFrame, table=None) -> pd.DataFrame:
    """A copy of ``frame`` with energy per component in pJ (adds memory columns if absent).

    Each row is priced with the PE that runs it (the array's, or on the host unit the layer's
    own widths).  energy_mac_pj: product unit and adder of every PE operation
    (``busy_pe_cycles``: one per MAC and pass), less what zero weights save where
    ``zero_weight_macs`` is known (a zero weight gates the product unit's inputs and holds
    the accumulator; ``energy_saved_zero_gating_pj`` reports it, NaN where unknown);
    energy_reg_pj: PE pipeline registers, clocked on busy PE cycles (idle PEs clock-gated);
    energy_shift_add_pj: the adds that merge bit-serial passes (``shift_adds``);
    energy_<sram>_sram_pj: bits read and written at the per-bit energy of one half (one
    buffer) of that SRAM; energy_dram_pj: bits moved at the table's DRAM energy.
    """
    t = resolve_table(table)
    if "total_cycles" not in frame.columns:
        frame = add_memory_columns(frame)
    require_columns(frame, ENERGY_INPUT_COLUMNS, "add_energy_columns")
    check_positive(frame, ENERGY_INPUT_COLUMNS, allow_zero=True)
    pe = unit_pe_arrays(frame, t)
    arithmetic_pj = pe["multiplier_energy_pj"] + pe["accumulator_energy_pj"]
    busy = frame["busy_pe_cycles"].to_numpy(dtype=np.float64)
    if "zero_weight_macs" in frame.columns:
        zero_macs = frame["zero_weight_macs"].to_numpy(dtype=np.float64)
    else:
        zero_macs = np.full(len(frame), np.nan)
    saved = zero_macs * arithmetic_pj
    shift_adds = (frame["shift_adds"].to_numpy(dtype=np.float64) if "shift_adds" in frame.columns
                  else np.zeros(len(frame)))
    out = {}
    out["energy_mac_pj"] = busy * arithmetic_pj - np.nan_to_num(saved)
    out["energy_saved_zero_gating_pj"] = saved
    out["energy_reg_pj"] = busy * pe["register_energy_pj"]
    out["energy_shift_add_pj"] = shift_adds * pe["accumulator_energy_pj"]
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
    # The host unit's share, and the area its PEs would take (not part of the array's): GEMM
    # layers wider than the PE.  A trace's host ops (no GEMM) count only their traffic.
    on_host = column_is(frame, "runs_on", "host") & (column(frame, "gemms") > 0)
    out["energy_host_pj"] = np.where(on_host, out["energy_total_pj"], 0.0)
    out["host_pe_area_um2"] = np.where(on_host, pe["area_um2"], 0.0)
    return join_columns(frame, out)


SUMMED_COLUMNS = ("macs", "cycles", "stall_cycles", "total_cycles", "dram_read_bits",
                  "dram_write_bits") + ENERGY_COLUMNS + ("energy_total_pj",
                                                         "energy_saved_zero_gating_pj",
                                                         "energy_host_pj", "host_layers",
                                                         "host_cycles", "passes_layers")
SUMMARY_CONFIG_COLUMNS = ("rows", "cols", "wbits", "abits", "acc_bits", "freq_mhz",
                          "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb")


def network_summary(frame: pd.DataFrame, table=None, by=None):
    """Totals of a run per design point: cycles, energy by component, power, area, TOPS.

    ``frame``: per-layer rows with config columns (``simulate_network``'s output, or a sweep's).
    With ``by=None`` the frame must hold one design point and a dict comes back; with ``by``
    (column names identifying design points) a DataFrame with a row per design point.
    Power is energy over latency at freq_mhz, stalls included; TOPS count 2 ops per MAC.
    Energy and latency include the layers that ran on the host unit (``energy_host_pj``,
    ``host_cycles``, ``host_layers``); the area is the array's, and ``host_mm2`` what the host
    unit's PE array (of its widest PE) would add.  ``energy_dram_share``: DRAM's part.
    """
    t = resolve_table(table)
    if "energy_total_pj" not in frame.columns:
        frame = add_energy_columns(frame, t)
    require_columns(frame, SUMMARY_CONFIG_COLUMNS, "network_summary")
    on_host = column_is(frame, "runs_on", "host") & (column(frame, "gemms") > 0)
    frame = join_columns(frame, {
        "host_layers": on_host.astype(np.int64),
        "host_cycles": np.where(on_host, frame["total_cycles"].to_numpy(), 0),
        "passes_layers": (column(frame, "weight_passes") * column(frame, "activation_passes")
                          > 1).astype(np.int64)})
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
                         grouped["host_pe_area_um2"].max(), grouped.size().rename("layers")],
                        axis=1)
    summary = summary.reset_index(drop=not keys)
    freq_hz = summary["freq_mhz"] * 1e6
    summary["latency_s"] = summary["total_cycles"] / freq_hz
    summary["energy_uj"] = summary["energy_total_pj"] / 1e6
    summary["energy_dram_share"] = summary["energy_dram_pj"] / summary["energy_total_pj"]
    summary["power_mw"] = summary["energy_total_pj"] * 1e-12 / summary["latency_s"] * 1e3
    area = _area_arrays(summary["rows"].to_numpy(), summary["cols"].to_numpy(),
                        summary["wbits"].to_numpy(), summary["abits"].to_numpy(),
                        summary["acc_bits"].to_numpy(),
                        {name: summary[f"{name}_sram_kb"].to_numpy() for name in SRAMS}, t)
    for name in ("pe_array_mm2", "control_mm2", "sram_mm2", "total_mm2"):
        summary[name] = area[name]
    summary["host_mm2"] = (summary["rows"] * summary["cols"] * summary.pop("host_pe_area_um2")
                           / 1e6)
    summary["peak_tops"] = OPS_PER_MAC * summary["rows"] * summary["cols"] * freq_hz / 1e12
    summary["achieved_tops"] = OPS_PER_MAC * summary["macs"] / summary["latency_s"] / 1e12
    summary["tops_per_w"] = summary["achieved_tops"] / (summary["power_mw"] / 1e3)
    if by is None:
        return {name: _python_scalar(summary[name].iloc[0]) for name in summary.columns}
    return summary


def run_notes(*, wide_layers: str, between_layers: str, zero_gating: str, host_layers: int,
              host_energy_uj: float, passes_layers: int, dram_share: float,
              host_names=()) -> list[str]:
    """The lines every report prints about how a run was counted."""
    names = f": {', '.join(host_names)}" if host_names else ""
    where = {"host": "on a host unit of the array's size with PEs of their own widths",
             "passes": "in bit-serial passes on the array where integer, else on the host unit"}
    return [
        f"wide layers: {wide_layers} (layers wider than the PE run {where[wide_layers]}); "
        f"{host_layers} on the host unit{names} ({host_energy_uj:.3f} uJ), {passes_layers} in "
        f"passes",
        f"between layers: {between_layers} ("
        + ("outputs stay on chip as the next input where they fit" if between_layers == "sram"
           else "every output to DRAM and back, SCALE-Sim's accounting") + ")",
        f"zero_gating: {zero_gating}",
        f"DRAM share of energy: {dram_share:.1%}",
    ]


def _python_scalar(value):
    return value.item() if isinstance(value, np.generic) else value
