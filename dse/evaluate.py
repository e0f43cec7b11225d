"""Evaluate design points: one (point x layer) frame per network, counts, then totals per point.

The analytic engine never loops over points in Python: it repeats each point's configuration
once per layer and tiles the layer GEMMs once per point (``np.repeat`` / ``np.tile``), places
every row (``accelsim.network.add_placement_columns``), calls the closed form once on the whole
frame, and sums each point's contiguous block of layers.  The cycle engine runs
``accelsim.simulate_network`` point by point and feeds the same summary, so both engines
report the same columns.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from accelsim import simulate_network
from accelsim.analytic import DATAFLOW_CODES
from accelsim.cost import ENERGY_COLUMNS, add_energy_columns, network_summary
from accelsim.formats import BITS_PER_KB
from accelsim.network import (COUNT_COLUMNS, LAYER_COLUMNS, PLACEMENT_COLUMNS,
                              add_placement_columns, closed_form_counts, measured_zero_macs,
                              overflow_possible)

from .space import HARDWARE_COLUMNS, Network, config_of

ENGINES = ("analytic", "cycle")
FRAME_COLUMNS = LAYER_COLUMNS + PLACEMENT_COLUMNS + COUNT_COLUMNS
STRING_AXES = {"dataflow": list(DATAFLOW_CODES), "wide_layers": ["host", "passes"],
               "between_layers": ["sram", "dram"]}


def _repeated_categorical(values: np.ndarray, categories: list[str],
                          times: int) -> pd.Categorical:
    """Each point's string repeated per layer, as codes: building half a million strings would
    cost more than the counts."""
    codes = pd.Categorical(values, categories=categories).codes
    return pd.Categorical.from_codes(np.repeat(codes, times), categories=categories)


def layer_frame(points: pd.DataFrame, network: Network,
                layer_widths: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """The (point x layer) frame of the analytic engine: point-major, a row per layer.

    Carries every hardware column, the layer's GEMM at the point's batch, its widths (the
    array's where the network takes them, or ``layer_widths``: (points, layers) arrays of
    each point's own weight and activation widths, a mixed-precision search's candidates),
    where it runs and the closed form's counts; ``zero_weight_macs`` comes from a trace's
    weight codes at batch 1, else is empty.
    """
    n_points, layers = len(points), network.layers
    n_layers = len(layers)
    columns: dict[str, np.ndarray] = {
        "point_id": np.repeat(points["point_id"].to_numpy(), n_layers)}
    for column in HARDWARE_COLUMNS:
        if column in STRING_AXES:
            columns[column] = _repeated_categorical(points[column].to_numpy(),
                                                    STRING_AXES[column], n_layers)
        else:
            columns[column] = np.repeat(points[column].to_numpy(), n_layers)
    batch = columns["batch"]
    columns["layer"] = pd.Categorical.from_codes(np.tile(np.arange(n_layers), n_points),
                                                 categories=layers["layer"].tolist())
    columns["op"] = pd.Categorical.from_codes(
        np.tile(pd.factorize(layers["op"])[0], n_points),
        categories=pd.factorize(layers["op"])[1].tolist())
    # Layer.sizes at the point's batch: inputs stack into M where they share the weights, and
    # multiply the GEMMs (and a matmul's second operand) where they do not.
    per_input = np.tile(layers["per_input_gemms"].to_numpy(), n_points)
    for column in ("M", "N", "K", "gemms", "ifmap_elems", "filter_elems", "weight_elems",
                   "ofmap_elems", "residual_elems", "chained"):
        columns[column] = np.tile(layers[column].to_numpy(), n_points)
    for column in ("ifmap_elems", "ofmap_elems", "residual_elems"):
        columns[column] = columns[column] * batch
    columns["M"] = np.where(per_input, columns["M"], columns["M"] * batch)
    for column in ("gemms", "filter_elems"):
        columns[column] = np.where(per_input, columns[column] * batch, columns[column])
    follows = np.tile(layers["array_widths"].to_numpy(dtype=bool), n_points)
    for k, side in enumerate(("wbits", "abits")):
        columns[f"layer_{side}"] = (
            np.asarray(layer_widths[k], dtype=np.int64).reshape(-1) if layer_widths is not None
            else np.where(follows, columns[side],
                          np.tile(layers[f"layer_{side}"].to_numpy(), n_points)))
    frame = add_placement_columns(pd.DataFrame(columns, copy=False))
    counts = closed_form_counts(frame)
    for column in COUNT_COLUMNS:
        if column not in ("zero_weight_macs", "overflows"):
            frame[column] = counts[column]
    frame["zero_weight_macs"] = _zero_weight_macs(frame, network)
    frame["overflows"] = np.nan
    return frame


def _zero_weight_macs(frame: pd.DataFrame, network: Network) -> np.ndarray:
    """Zero-weight MACs from the trace's codes (batch 1 only, as the cycle engine), else NaN."""
    zeros = np.full(len(frame), np.nan)
    if not network.weights:
        return zeros
    counted = lru_cache(maxsize=None)(lambda layer, m, unit_w, w_passes, a_passes:
                                      measured_zero_macs(network.weights[layer], m, unit_w,
                                                         w_passes, a_passes))
    on_host = (frame["runs_on"] == "host").to_numpy()
    unit_w = np.where(on_host, frame["layer_wbits"].to_numpy(), frame["wbits"].to_numpy())
    keys = zip(frame["layer"].astype(str), frame["M"], unit_w, frame["weight_passes"],
               frame["activation_passes"], frame["batch"])
    for i, (layer, m, w, wp, ap, batch) in enumerate(keys):
        if batch == 1 and layer in network.weights:
            zeros[i] = counted(layer, int(m), int(w), int(wp), int(ap))
    return zeros


def cycle_layer_frame(points: pd.DataFrame, network: Network, seed: int = 0) -> pd.DataFrame:
    """The same frame from the cycle-level engine, one ``simulate_network`` call per point."""
    frames = []
    for _, point in points.iterrows():
        per_layer = simulate_network(network.workload, config_of(point),
                                     batch=int(point["batch"]), engine="cycle", seed=seed)
        per_layer = per_layer[list(FRAME_COLUMNS)]
        per_layer.insert(0, "point_id", point["point_id"])
        for column in HARDWARE_COLUMNS:
            per_layer[column] = point[column]
        frames.append(per_layer)
    return pd.concat(frames, ignore_index=True)


def _per_point(values: np.ndarray, n_points: int, how: str = "sum") -> np.ndarray:
    """Reduce each point's contiguous block of layers."""
    blocks = np.asarray(values).reshape(n_points, -1)
    return blocks.sum(axis=1) if how == "sum" else blocks.max(axis=1)


def summarise(points: pd.DataFrame, frame: pd.DataFrame, network: Network,
              table=None) -> pd.DataFrame:
    """Totals per point from a point-major (point x layer) frame; one row per point.

    Memory traffic, stalls, energy, power and area come from ``accelsim.memory`` /
    ``accelsim.cost`` (``network_summary`` per point); energies are per inference (a run's
    energy over its batch), latency is the batch's, stalls included.  The paper's measures
    (compute cost, weight and activation memory) use each layer's own widths.  ``table``: the
    cost model's constants (``accelsim.cost.resolve_table``'s argument; default 45 nm).
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
    busy = _per_point(frame["busy_pe_cycles"].to_numpy(), n)
    macs = _per_point(frame["macs"].to_numpy(), n)
    out["ends"] = network.ends
    out["layers"] = np.full(n, len(frame) // max(n, 1), dtype=np.int64)
    out["pes"] = pes
    out["macs_per_inference"] = macs // batch
    for column in ("cycles", "stall_cycles", "total_cycles", "host_cycles", "host_layers",
                   "passes_layers"):
        out[column] = cost[column].to_numpy().astype(np.int64)
    out["latency_ms"] = cost["latency_s"].to_numpy() * 1e3
    out["inferences_per_s"] = batch / cost["latency_s"].to_numpy()
    out["utilization"] = busy / (clocks * pes)
    # Counted by the cycle engine (empty from the closed form); possible or not, from K and the
    # widths, in both: fronts leave out points that can overflow (dse.fronts).
    out["overflows"] = _per_point(frame["overflows"].to_numpy(dtype=np.float64), n)
    out["overflow_possible"] = _per_point(overflow_possible(frame), n, "max").astype(bool)
    out["energy_per_inference_uj"] = cost["energy_total_pj"].to_numpy() / 1e6 / batch
    for column in ENERGY_COLUMNS + ("energy_saved_zero_gating_pj", "energy_host_pj"):
        out[column.replace("_pj", "_uj")] = cost[column].to_numpy() / 1e6 / batch
    out["energy_dram_share"] = cost["energy_dram_share"].to_numpy()
    out["zero_gating"] = np.where(batch == 1, network.zero_gating, "none")
    out["power_mw"] = cost["power_mw"].to_numpy()
    out["area_mm2"] = cost["total_mm2"].to_numpy()
    for column in ("pe_array_mm2", "sram_mm2", "control_mm2", "host_mm2", "peak_tops",
                   "achieved_tops", "tops_per_w"):
        out[column] = cost[column].to_numpy()
    out["dram_read_kb_per_inference"] = cost["dram_read_bits"].to_numpy() / BITS_PER_KB / batch
    out["dram_write_kb_per_inference"] = cost["dram_write_bits"].to_numpy() / BITS_PER_KB / batch
    layer_w = frame["layer_wbits"].to_numpy().reshape(n, -1)
    layer_a = frame["layer_abits"].to_numpy().reshape(n, -1)
    # The paper's compute cost (its footnote 2): FMAs x (weight bits + activation bits).
    out["compute_cost_mac_bits"] = (frame["macs"].to_numpy().reshape(n, -1)
                                    * (layer_w + layer_a)).sum(axis=1) // batch
    out["weight_memory_kb"] = ((frame["weight_elems"].to_numpy().reshape(n, -1) * layer_w)
                               .sum(axis=1) / BITS_PER_KB)
    # Inference keeps one layer's input and output alive at a time: the largest such pair,
    # each at the width of the layer that reads it.
    next_a = np.concatenate([layer_a[:, 1:], layer_a[:, -1:]], axis=1)
    live = (frame["ifmap_elems"].to_numpy().reshape(n, -1) * layer_a
            + frame["ofmap_elems"].to_numpy().reshape(n, -1) * next_a)
    out["activation_memory_kb"] = live.max(axis=1) / batch / BITS_PER_KB
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
            try:
                frame = (layer_frame(chunk, network) if engine == "analytic"
                         else cycle_layer_frame(chunk, network))
            except ValueError as err:  # a layer too large to count: say whose
                raise ValueError(f"network {network.model!r}: {err}") from None
            results.append(summarise(chunk, frame, network, table))
    summary = pd.concat(results, ignore_index=True)
    order = np.argsort(summary["point_id"].to_numpy(), kind="stable")
    return summary.iloc[order].reset_index(drop=True)


__all__ = ["ENGINES", "evaluate", "layer_frame", "cycle_layer_frame", "summarise"]
