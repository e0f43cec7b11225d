"""Evaluate design points: one (point x layer) frame per network, counts, then totals per point.

The analytic engine never loops over points in Python: it repeats each point's configuration
once per layer and tiles the layer GEMMs once per point (``np.repeat`` / ``np.tile``), calls
``accelsim.analytic.gemm_counts`` once on the whole frame, and sums each point's contiguous
block of layers.  The cycle engine runs ``accelsim.simulate_network`` point by point and feeds
the same summary, so both engines report the same columns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from accelsim import simulate_network
from accelsim.analytic import DATAFLOW_CODES, gemm_counts
from accelsim.cost import ENERGY_COLUMNS, add_energy_columns, network_summary
from accelsim.formats import BITS_PER_KB

from .space import HARDWARE_COLUMNS, Network, config_of

ENGINES = ("analytic", "cycle")
LAYER_COLUMNS = ("layer", "M", "N", "K", "gemms", "ifmap_elems", "filter_elems", "weight_elems",
                 "ofmap_elems")
COUNT_COLUMNS = ("folds", "clocks", "cycles", "macs", "utilization", "ifmap_sram_reads",
                 "filter_sram_reads", "ofmap_sram_writes", "ofmap_sram_reads")


def layer_frame(points: pd.DataFrame, network: Network) -> pd.DataFrame:
    """The (point x layer) frame of the analytic engine: point-major, a row per layer.

    Carries every hardware column, the layer's GEMM at the point's batch, and gemm_counts'
    outputs; ``zero_weight_macs`` is empty (the closed form has no operand data).
    """
    n_points, layers = len(points), network.layers
    n_layers = len(layers)
    columns: dict[str, np.ndarray] = {
        "point_id": np.repeat(points["point_id"].to_numpy(), n_layers)}
    codes = np.array([DATAFLOW_CODES[d] for d in points["dataflow"]], dtype=np.int64)
    codes = np.repeat(codes, n_layers)
    for column in HARDWARE_COLUMNS:
        if column != "dataflow":
            columns[column] = np.repeat(points[column].to_numpy(), n_layers)
    # Categoricals from codes: building half a million strings would cost more than the counts.
    columns["dataflow"] = pd.Categorical.from_codes(codes, categories=list(DATAFLOW_CODES))
    batch = columns["batch"]
    columns["layer"] = pd.Categorical.from_codes(np.tile(np.arange(n_layers), n_points),
                                                 categories=layers["layer"].tolist())
    # Layer.sizes at the point's batch: inputs stack into M where they share the weights, and
    # multiply the GEMMs (and a matmul's second operand) where they do not.
    per_input = np.tile(layers["per_input_gemms"].to_numpy(), n_points)
    for column in ("M", "N", "K", "gemms", "ifmap_elems", "filter_elems", "weight_elems",
                   "ofmap_elems"):
        columns[column] = np.tile(layers[column].to_numpy(), n_points)
    for column in ("ifmap_elems", "ofmap_elems"):
        columns[column] = columns[column] * batch
    columns["M"] = np.where(per_input, columns["M"], columns["M"] * batch)
    for column in ("gemms", "filter_elems"):
        columns[column] = np.where(per_input, columns[column] * batch, columns[column])
    counts = gemm_counts(columns["M"], columns["N"], columns["K"], columns["rows"],
                         columns["cols"], codes, columns["gemms"])
    columns.update({column: counts[column] for column in COUNT_COLUMNS})
    columns["busy_pe_cycles"] = counts["macs"]  # in closed form every MAC busies one PE cycle
    columns["zero_weight_macs"] = np.full(n_points * n_layers, np.nan)
    return pd.DataFrame(columns, copy=False)


def cycle_layer_frame(points: pd.DataFrame, network: Network, seed: int = 0) -> pd.DataFrame:
    """The same frame from the cycle-level engine, one ``simulate_network`` call per point."""
    frames = []
    for _, point in points.iterrows():
        per_layer = simulate_network(network.workload, config_of(point),
                                     batch=int(point["batch"]), engine="cycle", seed=seed)
        per_layer = per_layer[list(LAYER_COLUMNS) + list(COUNT_COLUMNS)
                              + ["busy_pe_cycles", "zero_weight_macs"]]
        per_layer.insert(0, "point_id", point["point_id"])
        for column in HARDWARE_COLUMNS:
            per_layer[column] = point[column]
        frames.append(per_layer)
    return pd.concat(frames, ignore_index=True)


def _per_point(values: np.ndarray, n_points: int, how: str = "sum") -> np.ndarray:
    """Reduce each point's contiguous block of layers."""
    blocks = np.asarray(values).reshape(n_points, -1)
    return blocks.sum(axis=1) if how == "sum" else blocks.max(axis=1)


def summarise(points: pd.DataFrame, frame: pd.DataFrame, table=None) -> pd.DataFrame:
    """Totals per point from a point-major (point x layer) frame; one row per point.

    Memory traffic, stalls, energy, power and area come from ``accelsim.memory`` /
    ``accelsim.cost`` (``network_summary`` per point); energies are per inference (a run's
    energy over its batch), latency is the batch's, stalls included.  ``table``: the cost
    model's constants (``accelsim.cost.resolve_table``'s argument; default 45 nm).
    """
    n = len(points)
    out = points.drop(columns=["net"]).reset_index(drop=True)
    batch = out["batch"].to_numpy()
    pes = out["rows"].to_numpy() * out["cols"].to_numpy()
    if "energy_total_pj" not in frame.columns:
        frame = add_energy_columns(frame, table)
    cost = network_summary(frame, table, by="point_id")
    if not np.array_equal(cost["point_id"].to_numpy(), out["point_id"].to_numpy()):
        raise AssertionError("network_summary changed the order of the points")
    clocks = _per_point(frame["clocks"].to_numpy(), n)
    macs = _per_point(frame["macs"].to_numpy(), n)
    out["layers"] = np.full(n, len(frame) // max(n, 1), dtype=np.int64)
    out["pes"] = pes
    out["macs_per_inference"] = macs // batch
    for column in ("cycles", "stall_cycles", "total_cycles"):
        out[column] = cost[column].to_numpy().astype(np.int64)
    out["latency_ms"] = cost["latency_s"].to_numpy() * 1e3
    out["inferences_per_s"] = batch / cost["latency_s"].to_numpy()
    out["utilization"] = macs / (clocks * pes)
    out["energy_per_inference_uj"] = cost["energy_total_pj"].to_numpy() / 1e6 / batch
    for column in ENERGY_COLUMNS + ("energy_saved_zero_gating_pj",):
        out[column.replace("_pj", "_uj")] = cost[column].to_numpy() / 1e6 / batch
    out["power_mw"] = cost["power_mw"].to_numpy()
    out["area_mm2"] = cost["total_mm2"].to_numpy()
    for column in ("pe_array_mm2", "sram_mm2", "control_mm2", "peak_tops", "achieved_tops",
                   "tops_per_w"):
        out[column] = cost[column].to_numpy()
    out["dram_read_kb_per_inference"] = cost["dram_read_bits"].to_numpy() / BITS_PER_KB / batch
    out["dram_write_kb_per_inference"] = cost["dram_write_bits"].to_numpy() / BITS_PER_KB / batch
    # The paper's compute cost (its footnote 2): FMAs x (weight bits + activation bits).
    out["compute_cost_mac_bits"] = out["macs_per_inference"] * (out["wbits"] + out["abits"])
    out["weight_memory_kb"] = (_per_point(frame["weight_elems"].to_numpy(), n)
                               * out["wbits"].to_numpy() / BITS_PER_KB)
    # Inference keeps one layer's input and output alive at a time: the largest such pair.
    live = frame["ifmap_elems"].to_numpy() + frame["ofmap_elems"].to_numpy()
    out["activation_memory_kb"] = _per_point(live, n, "max") * out["abits"].to_numpy() / BITS_PER_KB
    return out


def evaluate(points: pd.DataFrame, networks: list[Network], engine: str = "analytic",
             table=None, chunk_pairs: int = 1 << 20) -> pd.DataFrame:
    """Evaluate points (rows of ``DesignSpace.points()``); one summary row per point, same order.

    ``table``: the cost model's constants, as ``accelsim.cost.resolve_table`` takes them.  The
    analytic frame is built ``chunk_pairs`` (point x layer) pairs at a time to bound memory.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}: allowed values are analytic, cycle")
    results = []
    for net, group in points.groupby("net", sort=False):
        network = networks[int(net)]
        per_chunk = max(1, chunk_pairs // len(network.layers))
        for start in range(0, len(group), per_chunk):
            chunk = group.iloc[start:start + per_chunk]
            frame = (layer_frame(chunk, network) if engine == "analytic"
                     else cycle_layer_frame(chunk, network))
            results.append(summarise(chunk, frame, table))
    summary = pd.concat(results, ignore_index=True)
    order = np.argsort(summary["point_id"].to_numpy(), kind="stable")
    return summary.iloc[order].reset_index(drop=True)


__all__ = ["ENGINES", "evaluate", "layer_frame", "cycle_layer_frame", "summarise"]
