"""A whole network on the array: one row per layer, from the cycle-level model or the closed form.

Each layer keeps its own widths (a trace's ``wbits``/``abits``; a built-in network's, whose
quantized layers take the array's and whose first conv and FC stay fp32 as WRPN trains them
unless ``quantize_ends``).  Where it runs follows ``accelsim.pe.placement``: on the array,
on the array in bit-serial passes (``wide_layers="passes"``), or on the host unit, an array of
the same size and dataflow built from PEs of the layer's widths (``runs_on`` host).  A row a
trace puts on the host (``op`` pool, add, softmax, ...) has no GEMM (``gemms`` = 0): no
cycles, only the traffic of its operands.  A layer of several GEMMs (a grouped conv's groups,
a matmul's batch) runs them back to back.  Zero weights gate energy only where the weights are
known (a trace's ``.npz``); otherwise the row's ``zero_weight_macs`` is empty and the report
says ``zero_gating: none``.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import analytic, dataflows, pe
from .config import (MAX_BATCH, ArrayConfig, activation_code_range, config_columns,
                     weight_code_range)
from .cost import add_energy_columns
from .formats import FP32_BITS
from .memory import unit_widths
from .onnx_import import read_onnx
from .systolic import simulate_gemm, simulate_passes
from .workload import Workload, builtin, builtin_names, load_all_operands, read_workload

ENGINES = ("cycle", "analytic")
COUNT_COLUMNS = ("folds", "cycles", "clocks", "macs", "busy_pe_cycles", "utilization",
                 "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
                 "ofmap_sram_reads", "shift_adds", "zero_weight_macs", "overflows")
# A layer row's shape, widths and place, before its counts (both engines, and dse's frame).
LAYER_COLUMNS = ("layer", "op", "M", "N", "K", "gemms", "ifmap_elems", "filter_elems",
                 "weight_elems", "ofmap_elems", "layer_wbits", "layer_abits", "chained",
                 "residual_elems")
PLACEMENT_COLUMNS = ("runs_on", "weight_passes", "activation_passes", "passes")


def resolve_workload(trace: str | os.PathLike | Workload, cfg: ArrayConfig | None = None, *,
                     quantize_ends: bool = False, **builtin_options) -> Workload:
    """A Workload from a loaded one, a trace / topology / ``.onnx`` path, or a built-in name.

    With ``cfg``, layers that take the array's widths take cfg's.  ``quantize_ends`` puts a
    built-in network's first conv and FC at the array's widths too (default: fp32, as WRPN
    trains them); a trace carries its own widths, so it refuses the option.
    """
    text = str(trace)
    is_builtin = not isinstance(trace, Workload) and text.lower() in builtin_names()
    if quantize_ends and not is_builtin:
        raise ValueError("quantize_ends applies to built-in networks; a trace or workload "
                         "carries its own layer widths")
    widths = {} if cfg is None else {"wbits": cfg.wbits, "abits": cfg.abits}
    if isinstance(trace, Workload):
        workload = trace
    elif is_builtin:
        return builtin(text, **widths, full_precision_ends=not quantize_ends, **builtin_options)
    elif os.path.exists(text):
        workload = read_onnx(text) if text.lower().endswith(".onnx") else read_workload(text)
    else:
        raise ValueError(f"trace={text!r}: neither a file nor a built-in network "
                         f"({', '.join(builtin_names())})")
    return workload if cfg is None else workload.at_widths(cfg.wbits, cfg.abits)


def random_operands(m: int, n: int, k: int, cfg: ArrayConfig,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly random codes of cfg's widths (floats on an fp32 side), for a network without data."""
    if cfg.abits == FP32_BITS:
        activations = rng.random((m, k), dtype=np.float32)
    else:
        a_low, a_high = activation_code_range(cfg.abits)
        activations = rng.integers(a_low, a_high + 1, size=(m, k), dtype=np.int64)
    if cfg.wbits == FP32_BITS:
        weights = rng.standard_normal((k, n), dtype=np.float32)
    elif cfg.wbits == 1:
        weights = rng.choice(np.array([-1, 1], dtype=np.int64), size=(k, n))
    else:
        w_low, w_high = weight_code_range(cfg.wbits)
        weights = rng.integers(w_low, w_high + 1, size=(k, n), dtype=np.int64)
    if cfg.is_float:
        activations, weights = activations.astype(np.float32), weights.astype(np.float32)
    return activations, weights


def add_placement_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Where each (design point, layer) row runs: ``runs_on``, weight / activation passes.

    Needs the layer's widths (layer_wbits, layer_abits), its ``gemms`` (0: an op the trace
    puts on the host) and the array's (wbits, abits, wide_layers).  Elementwise, for a sweep's
    frame as for one network's.
    """
    place = pe.placement(frame["layer_wbits"].to_numpy(), frame["layer_abits"].to_numpy(),
                         frame["wbits"].to_numpy(), frame["abits"].to_numpy(),
                         (frame["wide_layers"] == "passes").to_numpy())
    on_host = place["on_host"] | (frame["gemms"].to_numpy() == 0)
    out = frame.copy(deep=False)
    out["runs_on"] = pd.Categorical.from_codes(on_host.astype(np.int8),
                                               categories=list(pe.RUNS_ON))
    out["weight_passes"] = place["weight_passes"]
    out["activation_passes"] = place["activation_passes"]
    out["passes"] = place["weight_passes"] * place["activation_passes"]
    return out


# The counts are int64, and memory traffic multiplies them by up to 32 bits before runs and
# sweeps sum them: a run (one design point) may count at most 2^58 clocks or bit accesses,
# 16x below int64's limit, so that nothing derived from them wraps.
MAX_RUN_COUNT = 2.0 ** 58
# The cycle engine holds one GEMM's operand codes (M x K + K x N, int64) in memory at a time.
MAX_CYCLE_OPERANDS = 2 ** 26


def check_counts_fit(frame: pd.DataFrame) -> None:
    """ValueError naming the layer if the counts of a placed frame (one run, or a sweep's
    point x layer rows with ``point_id``) could overflow 64-bit integers.

    The bound is computed in float64 from the closed form's shape of the counts: clocks =
    folds x (T + preload + rows + cols - 2) x passes, every SRAM count is at most the three
    operands' elements x the larger fold count x passes, each access up to 32 bits, and the
    MACs x passes."""
    m, n, k, gemms, rows, cols, passes = (frame[c].to_numpy(dtype=np.float64) for c in
                                          ("M", "N", "K", "gemms", "rows", "cols", "passes"))
    sr, sc, t = dataflows.mapped_arrays(m, n, k, dataflows.codes_of(frame["dataflow"]))
    row_folds, col_folds = np.ceil(sr / rows), np.ceil(sc / cols)
    with np.errstate(over="ignore", invalid="ignore"):
        clocks = gemms * row_folds * col_folds * (t + 2 * rows + cols) * passes
        accesses = gemms * passes * (m * k + k * n + m * n) * np.maximum(row_folds, col_folds)
        load = np.maximum(np.maximum(clocks, 32 * accesses), gemms * passes * m * n * k)
        run = (pd.Series(load).groupby(frame["point_id"].to_numpy()).transform("sum").to_numpy()
               if "point_id" in frame.columns else np.full(len(frame), load.sum()))
    bad = ~(run <= MAX_RUN_COUNT)
    if bad.any():
        worst = int(np.argmax(np.where(bad, load, -1.0)))
        raise ValueError(
            f"layer {frame['layer'].iloc[worst]!r} (M={int(m[worst])}, N={int(n[worst])}, "
            f"K={int(k[worst])}) on {int(rows[worst])}x{int(cols[worst])}: its run counts about "
            f"{run[worst]:.3g} clocks or bit accesses, beyond the {MAX_RUN_COUNT:.3g} that "
            "64-bit counters hold safely; make the layer or the batch smaller")


def closed_form_counts(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The closed form's counts of placed rows (a host row counts as one pass on its unit)."""
    check_counts_fit(frame)
    gemms = frame["gemms"].to_numpy()
    counts = analytic.gemm_counts(frame["M"].to_numpy(), frame["N"].to_numpy(),
                                  frame["K"].to_numpy(), frame["rows"].to_numpy(),
                                  frame["cols"].to_numpy(), frame["dataflow"], gemms)
    counts["busy_pe_cycles"] = counts["macs"]  # in closed form every MAC busies one PE cycle
    return analytic.with_passes(counts, frame["M"].to_numpy(), frame["N"].to_numpy(),
                                frame["passes"].to_numpy(), gemms)


def reachable_sums(frame: pd.DataFrame) -> np.ndarray:
    """Per row, the largest |sum| its accumulators can reach: K x the largest activation code x
    the largest |weight code| of the layer's widths (bit-serial passes merge to the same sum in
    the output buffer's adder, which wraps at acc_bits too); NaN where the unit running it
    adds in fp32 or the row has no GEMM.  The analytic engine counts no overflows, so this
    says whether one is possible."""
    unit_w, unit_a = unit_widths(frame)
    layer_w = frame["layer_wbits"].to_numpy(dtype=np.float64)
    layer_a = frame["layer_abits"].to_numpy(dtype=np.float64)
    largest_w = np.maximum(1.0, 2.0 ** (layer_w - 1) - 1)   # binary and ternary: 1
    reach = frame["K"].to_numpy(dtype=np.float64) * (2.0 ** layer_a - 1) * largest_w
    floating = (unit_w == FP32_BITS) | (unit_a == FP32_BITS)
    return np.where(floating | (frame["gemms"].to_numpy() == 0), np.nan, reach)


def overflow_possible(frame: pd.DataFrame) -> np.ndarray:
    """Per row, whether a reachable sum leaves the signed acc_bits range (``reachable_sums``)."""
    limit = 2.0 ** (frame["acc_bits"].to_numpy(dtype=np.float64) - 1) - 1
    return reachable_sums(frame) > limit   # NaN compares False


def overflow_note(frame: pd.DataFrame) -> str:
    """One line for a run's report: overflows counted (cycle engine), else whether any is
    possible and where."""
    possible = overflow_possible(frame)
    reach = reachable_sums(frame)
    acc = int(frame["acc_bits"].iloc[0])
    if frame["overflows"].notna().all():
        wrapped = int(frame["overflows"].sum())
        if wrapped:
            names = ", ".join(frame.loc[frame["overflows"] > 0, "layer"].astype(str).head(5))
            return (f"accumulator overflows: {wrapped:,} of {int(frame['macs'].sum()):,} MACs "
                    f"wrapped at {acc} bits (layers {names}); outputs there differ from the "
                    "exact products")
        counted = "none counted"
    else:
        counted = "not counted by the analytic engine"
    if possible.any():
        worst = int(np.nanargmax(reach))
        names = ", ".join(frame.loc[possible, "layer"].astype(str).head(5))
        return (f"accumulator overflows: {counted}, but possible in {int(possible.sum())} layers "
                f"({names}): K x largest activation x largest |weight| reaches "
                f"{reach[worst]:.3g} in {frame['layer'].iloc[worst]}, beyond the {acc}-bit "
                f"accumulator's {2.0 ** (acc - 1) - 1:.3g}")
    if np.isnan(reach).all():
        return f"accumulator overflows: {counted}; none possible (fp32 adders)"
    worst = int(np.nanargmax(reach))
    return (f"accumulator overflows: {counted}; none possible: the largest reachable sum, "
            f"{reach[worst]:.3g} ({frame['layer'].iloc[worst]}), fits the {acc}-bit accumulator")


def measured_zero_macs(weights: np.ndarray, m: int, array_wbits: int, weight_passes: int,
                       activation_passes: int) -> int:
    """MACs that meet a zero weight digit: each digit meets M activations per activation pass."""
    digits = pe.weight_digits(np.asarray(weights, dtype=np.int64), array_wbits, weight_passes)
    return int(sum(int((digit == 0).sum()) for digit, _ in digits)) * m * activation_passes


def layer_rows(workload: Workload, batch: int, stored: dict) -> pd.DataFrame:
    """A row per layer: its GEMMs at ``batch``, element counts, widths, place in the chain."""
    rows = []
    for index, layer in enumerate(workload.layers):
        sizes = layer.sizes(batch)
        m, gemms = sizes["M"], sizes["gemms"]
        if layer.name in stored:
            m = stored[layer.name][0].shape[-2]  # the .npz may hold a sample of the output pixels
        rows.append({"layer": layer.name, "op": layer.op, "M": m, "N": sizes["N"],
                     "K": sizes["K"], "gemms": gemms, "ifmap_elems": sizes["ifmap_elems"],
                     "filter_elems": sizes["filter_elems"],
                     "weight_elems": sizes["weight_elems"],
                     "ofmap_elems": gemms * m * sizes["N"] if layer.on_array
                     else sizes["ofmap_elems"],
                     "layer_wbits": layer.wbits, "layer_abits": layer.abits,
                     "chained": index > 0, "residual_elems": batch * layer.residual_elems})
    return pd.DataFrame(rows)


def zero_gating_label(workload: Workload, stored: dict) -> str:
    """``none``, or ``trace NAME`` when the zero weights come from a trace's codes."""
    return f"trace {Path(workload.operands_path).name}" if stored else "none"


def simulate_network(trace: str | os.PathLike | Workload, cfg: ArrayConfig, *, batch: int = 1,
                     engine: str = "cycle", seed: int = 0, table=None,
                     quantize_ends: bool = False) -> pd.DataFrame:
    """Run every layer of a network; one row per layer, in file order.

    ``trace``: our trace CSV, a SCALE-Sim topology, an ONNX model, a built-in name
    (``"resnet56"``) or a Workload (see ``resolve_workload`` for widths and ``quantize_ends``).  ``engine="cycle"``
    simulates clock by clock on the layer's codes (from the trace's .npz, else seeded random
    codes of the layer's widths); ``"analytic"`` gives the same counts in closed form.  Columns:
    the layer (LAYER_COLUMNS), where it ran (PLACEMENT_COLUMNS), the counts, ``operands``
    (npz / random / none), the config's fields, then memory traffic, stalls and energy
    (``accelsim.memory``, ``accelsim.cost``; ``table``: constants, default 45 nm);
    ``network_summary`` totals them.  ``frame.attrs['zero_gating']`` says where zero weights
    came from.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}: allowed values are cycle, analytic")
    if not isinstance(batch, (int, np.integer)) or not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch={batch!r}: must be an integer in 1..{MAX_BATCH}")
    workload = resolve_workload(trace, cfg, quantize_ends=quantize_ends)
    stored = load_all_operands(workload) if batch == 1 else {}
    frame = layer_rows(workload, batch, stored)
    for name, value in config_columns(cfg).items():
        frame[name] = value
    frame = add_placement_columns(frame)
    if engine == "cycle":
        counts = _cycle_counts(frame, stored, cfg, np.random.default_rng(seed))
    else:
        counts = closed_form_counts(frame)
        counts["zero_weight_macs"] = np.array(
            [measured_zero_macs(stored[r.layer][1], r.M, cfg.wbits if r.runs_on == "array"
                                else r.layer_wbits, r.weight_passes, r.activation_passes)
             if r.layer in stored else np.nan for r in frame.itertuples()], dtype=np.float64)
        counts["overflows"] = np.full(len(frame), np.nan)
    for name in COUNT_COLUMNS:
        frame[name] = counts[name]
    frame["operands"] = [("npz" if name in stored else "none" if gemms == 0 or engine != "cycle"
                          else "random") for name, gemms in zip(frame["layer"], frame["gemms"])]
    label = zero_gating_label(workload, stored)
    frame["zero_gating"] = label
    frame = add_energy_columns(frame, table)  # adds the memory columns first
    frame.attrs.update(workload=workload.name, config=cfg, zero_gating=label)
    return frame


def _cycle_counts(frame: pd.DataFrame, stored: dict, cfg: ArrayConfig,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every layer clock by clock: on the array (in passes if placed so) or on the host unit,
    its GEMMs back to back, each on its own codes; an op on the host has no counts."""
    check_counts_fit(frame)
    for row in frame.itertuples():
        if row.gemms and row.layer not in stored and row.M * row.K + row.K * row.N > \
                MAX_CYCLE_OPERANDS:
            raise ValueError(f"layer {row.layer!r}: the cycle engine would hold {row.M:,} x "
                             f"{row.K:,} + {row.K:,} x {row.N:,} operand codes, more than "
                             f"{MAX_CYCLE_OPERANDS:,}; use --engine analytic (equal counts) or a "
                             "smaller batch")
    layers = []
    for row in frame.itertuples():
        on_host = row.runs_on == "host"
        unit = replace(cfg, wbits=row.layer_wbits, abits=row.layer_abits) if on_host else cfg
        layer_widths = replace(cfg, wbits=row.layer_wbits, abits=row.layer_abits)
        results = []
        for g in range(row.gemms):
            if row.layer in stored:
                a, w = stored[row.layer]
                a, w = (a, w) if row.gemms == 1 else (a[g], w[g])
            else:
                a, w = random_operands(row.M, row.N, row.K, layer_widths, rng)
            results.append(simulate_passes(a, w, unit, row.weight_passes, row.activation_passes)
                           if row.passes > 1 else simulate_gemm(a, w, unit))
        layers.append(_layer_counts(results, row.passes, unit.pes))
    counts = {name: np.array([layer[name] for layer in layers]) for name in COUNT_COLUMNS}
    # Zero weights gate energy only when the weights are the network's: from random codes the
    # count says nothing about it.
    known = np.array([name in stored for name in frame["layer"]])
    counts["zero_weight_macs"] = np.where(known, counts["zero_weight_macs"], np.nan)
    return counts


def _layer_counts(results: list, passes: int, pes: int) -> dict:
    """One layer's counts from its GEMMs' results: sums, SCALE-Sim's - 1 once per pass."""
    counts = {column: sum(getattr(r, column) for r in results) for column in COUNT_COLUMNS
              if column not in ("cycles", "utilization")}
    counts["cycles"] = counts["clocks"] - passes if results else 0
    # clocks, not SCALE-Sim's cycles, so that a full array reads exactly 1.0
    counts["utilization"] = (counts["busy_pe_cycles"] / (counts["clocks"] * pes)
                             if results else 0.0)
    return counts
