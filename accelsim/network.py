"""A whole network on the array: one row per layer, from the cycle-level model or the closed form."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from . import analytic
from .config import ArrayConfig, activation_code_range, config_columns, weight_code_range
from .cost import add_energy_columns
from .onnx_import import read_onnx
from .systolic import simulate_gemm
from .workload import Workload, builtin, builtin_names, load_all_operands, read_workload

ENGINES = ("cycle", "analytic")
COUNT_COLUMNS = ("folds", "cycles", "clocks", "macs", "busy_pe_cycles", "utilization",
                 "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
                 "ofmap_sram_reads", "zero_weight_macs", "overflows")


def resolve_workload(trace: str | os.PathLike | Workload, cfg: ArrayConfig | None = None,
                     **builtin_options) -> Workload:
    """A Workload from a loaded one, a trace / topology / ``.onnx`` path, or a built-in name."""
    if isinstance(trace, Workload):
        return trace
    text = str(trace)
    if text.lower() in builtin_names():
        widths = {} if cfg is None else {"wbits": cfg.wbits, "abits": cfg.abits}
        return builtin(text, **widths, **builtin_options)
    if os.path.exists(text):
        if text.lower().endswith(".onnx"):
            return read_onnx(text)
        widths = {} if cfg is None else {"wbits": cfg.wbits, "abits": cfg.abits}
        return read_workload(text, **widths)
    raise ValueError(f"trace={text!r}: neither a file nor a built-in network "
                     f"({', '.join(builtin_names())})")


def random_operands(m: int, n: int, k: int, cfg: ArrayConfig,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly random codes of the array's widths, for a network given without data."""
    if cfg.is_float:
        return (rng.random((m, k), dtype=np.float32),
                rng.standard_normal((k, n), dtype=np.float32))
    a_low, a_high = activation_code_range(cfg.abits)
    activations = rng.integers(a_low, a_high + 1, size=(m, k), dtype=np.int64)
    if cfg.wbits == 1:
        weights = rng.choice(np.array([-1, 1], dtype=np.int64), size=(k, n))
    else:
        w_low, w_high = weight_code_range(cfg.wbits)
        weights = rng.integers(w_low, w_high + 1, size=(k, n), dtype=np.int64)
    return activations, weights


def _layer_counts(results: list, cfg: ArrayConfig) -> dict:
    """One layer's counts from its GEMMs' results: sums, SCALE-Sim's - 1 once per layer."""
    counts = {column: sum(getattr(r, column) for r in results) for column in COUNT_COLUMNS
              if column not in ("cycles", "utilization")}
    counts["cycles"] = counts["clocks"] - 1
    # clocks, not SCALE-Sim's cycles, so that a full array reads exactly 1.0
    counts["utilization"] = counts["macs"] / (counts["clocks"] * cfg.pes)
    return counts


def simulate_network(trace: str | os.PathLike | Workload, cfg: ArrayConfig, *, batch: int = 1,
                     engine: str = "cycle", seed: int = 0, table=None) -> pd.DataFrame:
    """Run every layer of a network on the array; one row per layer, in file order.

    ``trace``: our trace CSV, a SCALE-Sim topology, an ONNX model, a built-in name
    (``"resnet56"``) or a Workload.  The array's widths (cfg) apply to every layer.  ``engine="cycle"`` simulates
    clock by clock on the layer's operand codes (from the trace's .npz, or seeded random codes
    of the array's widths); ``"analytic"`` gives the same cycles and accesses in closed form.
    A layer of several GEMMs (``gemms``: a grouped conv's groups, a matmul's batch) runs them
    back to back; a row on the host (``runs_on``) takes no array cycles (``gemms`` = 0) but its
    operands' DRAM traffic is counted.  The ``operands`` column says which data a row ran on.
    The config's fields follow as columns, then memory traffic, stalls and energy
    (``accelsim.memory``, ``accelsim.cost``; ``table``: a constants table for the energies,
    default 45 nm); ``network_summary`` totals them.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}: allowed values are cycle, analytic")
    if not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch={batch!r}: must be an integer >= 1")
    workload = resolve_workload(trace, cfg)
    rows = []
    rng = np.random.default_rng(seed)
    stored = load_all_operands(workload) if batch == 1 else {}
    for layer in workload.layers:
        sizes = layer.sizes(batch)
        m, n, k, gemms = sizes["M"], sizes["N"], sizes["K"], sizes["gemms"]
        operands = stored.get(layer.name)
        if operands is not None:
            m = operands[0].shape[-2]  # the .npz may hold a sample of the output pixels
        row = {"layer": layer.name, "op": layer.op, "runs_on": layer.runs_on, "M": m, "N": n,
               "K": k, "gemms": gemms, "wbits": cfg.wbits, "abits": cfg.abits,
               "ifmap_elems": sizes["ifmap_elems"], "filter_elems": sizes["filter_elems"],
               "weight_elems": sizes["weight_elems"],
               "ofmap_elems": gemms * m * n if layer.on_array else sizes["ofmap_elems"]}
        if gemms == 0:  # on the host: no array counts; the memory model moves its operands
            row["operands"] = "none"
            counts = analytic.gemm_counts(m, n, k, cfg.rows, cfg.cols, cfg.dataflow, gemms)
            row.update({column: counts[column].item() for column in counts})
            row.update(busy_pe_cycles=0, zero_weight_macs=0, overflows=0)
        elif engine == "cycle":
            row["operands"] = "npz" if operands is not None else "random"
            results = []
            for g in range(gemms):  # the layer's GEMMs back to back, each on its own codes
                if operands is None:
                    a, w = random_operands(m, n, k, cfg, rng)
                else:
                    a, w = operands if gemms == 1 else (operands[0][g], operands[1][g])
                results.append(simulate_gemm(a, w, cfg))
            row.update(_layer_counts(results, cfg))
        else:
            row["operands"] = "npz" if operands is not None else "none"
            counts = analytic.gemm_counts(m, n, k, cfg.rows, cfg.cols, cfg.dataflow, gemms)
            row.update({column: counts[column].item() for column in counts})
            row["busy_pe_cycles"] = row["macs"]
            # Zero weights are known only from data: each weight is used once per output row.
            row["zero_weight_macs"] = (int((operands[1] == 0).sum()) * m
                                       if operands is not None else np.nan)
            row["overflows"] = np.nan
        rows.append(row)
    frame = pd.DataFrame(rows)
    for name, value in config_columns(cfg).items():
        if name not in frame.columns:
            frame[name] = value
    frame = add_energy_columns(frame, table)  # adds the memory columns first
    frame.attrs["workload"] = workload.name
    frame.attrs["config"] = cfg
    return frame
