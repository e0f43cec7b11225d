"""The table each view shows, shaped from the loaded results: pure functions of DataFrames.

``figures.py`` draws these tables; the views (``dashboards.views``) only pass the controls'
values in between.
"""
from __future__ import annotations

from dataclasses import dataclass
import functools
import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np
import pandas as pd

from accelsim import ArrayConfig, kernels, simulate_gemm
from accelsim.analytic import fold_schedule
from accelsim.formats import column_label, metric_sense
from accelsim.network import random_operands
from accelsim.workload import builtin, builtin_names
from dse import fronts
from dse.pareto import pareto_ranks
from dse.results import JOIN_KEY, summarise_runs
from dse.space import DATASETS

# x axes of the accuracy view: the paper's compute cost (its footnote 2), then hardware figures
# that depend on the array chosen beside it.
COST_AXES = ("compute_cost_mac_bits", "energy_per_inference_uj", "area_mm2")
# Columns that are one design point's identity or settings, not something to optimise.
SETTINGS = ("point_id", "net", "pareto_rank")
NETWORK_KEY = ("model", "dataset", "width", "widen")
MAX_CATEGORIES = 40
# A numeric column with at most this many values is coloured as categories (widths 1, 2, 4, 8
# apart), not along a continuous scale that makes neighbours one shade.
MAX_DISCRETE = 12


def label(column: str, unit: bool = True) -> str:
    """The one column -> label mapping of the project (accelsim.formats.COLUMNS)."""
    return column_label(column, unit)


def is_discrete(frame: pd.DataFrame, column: str) -> bool:
    """Colour by categories: text columns, and numeric ones with few values."""
    values = frame[column]
    return (not pd.api.types.is_numeric_dtype(values)
            or values.nunique(dropna=True) <= MAX_DISCRETE)


def metric_columns(sweep: pd.DataFrame) -> list[str]:
    """Numeric columns a user may put on an axis."""
    return [c for c in sweep.columns
            if c not in SETTINGS and pd.api.types.is_numeric_dtype(sweep[c])
            and not pd.api.types.is_bool_dtype(sweep[c])]


def colour_columns(sweep: pd.DataFrame) -> list[str]:
    """Metrics plus the text columns with few enough values to tell apart by colour."""
    text = [c for c in sweep.columns if c not in SETTINGS and c not in metric_columns(sweep)
            and sweep[c].nunique(dropna=False) <= MAX_CATEGORIES]
    return text + metric_columns(sweep)


def options(sweep: pd.DataFrame, column: str) -> list:
    """The distinct values of a column, sorted, as plain Python values."""
    if column not in sweep.columns:
        return []
    values = pd.unique(sweep[column].dropna())
    try:
        values = sorted(values)
    except TypeError:
        values = sorted(values, key=str)
    return [v.item() if hasattr(v, "item") else v for v in values]


# ----------------------------------------------------------------------------- accuracy vs cost

def accuracy_datasets(table: pd.DataFrame) -> list[str]:
    """The data sets the accuracy rows cover, the paper's CIFAR-10 first."""
    values = options(table, "dataset")
    return sorted(values, key=lambda d: (d != "cifar10", d))


def accuracy_points(table: pd.DataFrame, sweep: pd.DataFrame, rows: int, cols: int,
                    dataflow: str, dataset: str | None = None) -> pd.DataFrame:
    """One row per (network, widths, widening, teacher, quantizer) and series (paper /
    measured), of one data set when ``dataset`` is given.

    Measured rows are averaged over their seeds (``runs`` says how many).  The cost columns come
    from the sweep's point with the same network and widths on the chosen array; the teacher
    changes accuracy, not hardware, so it is not part of that match.  Rows the sweep has no
    point for keep empty costs.
    """
    if dataset is not None:
        table = table[table["dataset"] == dataset]
    table = table.assign(series=np.where(table["source"].str.lower().str.startswith("measured"),
                                         "measured", "paper"))
    points = summarise_runs(table, list(JOIN_KEY) + ["quantizer", "series"])
    key = list(NETWORK_KEY) + ["wbits", "abits"]
    costs = [c for c in COST_AXES if c in sweep.columns]
    chosen = sweep[(sweep["rows"] == rows) & (sweep["cols"] == cols)
                   & (sweep["dataflow"] == dataflow)] if len(sweep) else sweep
    if len(chosen):
        # One configuration of everything else (SRAMs, clock, batch): the sweep's first.
        for column in ("acc_bits", "freq_mhz", "ifmap_sram_kb", "filter_sram_kb",
                       "ofmap_sram_kb", "dram_bw_bytes_per_cycle", "batch"):
            if column in chosen.columns:
                chosen = chosen[chosen[column] == chosen[column].iloc[0]]
        chosen = chosen[key + costs].drop_duplicates(key)
        points = points.merge(chosen, on=key, how="left")
    else:
        for column in costs:
            points[column] = np.nan
    return points


def front_mask(frame: pd.DataFrame, objectives: dict[str, str]) -> np.ndarray:
    """True for the rows on the Pareto front of ``objectives``; rows with a gap are never on it."""
    mask = np.zeros(len(frame), dtype=bool)
    complete = frame[list(objectives)].notna().all(axis=1).to_numpy()
    if complete.any():
        mask[complete] = pareto_ranks(frame[complete], objectives) == 1
    return mask


# ----------------------------------------------------------------------------- explorer

def filter_sweep(sweep: pd.DataFrame, filters: dict[str, list]) -> pd.DataFrame:
    """Rows whose value in each filtered column is one of the chosen values (None: no filter)."""
    keep = np.ones(len(sweep), dtype=bool)
    for column, chosen in filters.items():
        if chosen is None or column not in sweep.columns:
            continue
        keep &= sweep[column].isin(chosen).to_numpy()
    return sweep[keep]


def missing_rows(points: pd.DataFrame, x: str) -> list[str]:
    """The accuracy rows that have no value of ``x``, as a person reads them."""
    missing = points[points[x].isna()] if x in points.columns else points
    return [fronts.network_text(row) + f" ({row['series']})" for _, row in missing.iterrows()]


def filters_text(sweep: pd.DataFrame, filters: dict[str, list]) -> str:
    """The filters that hold points back, as the exported CSV records them."""
    parts = []
    for column, chosen in filters.items():
        if chosen is None or column not in sweep.columns:
            continue
        if set(options(sweep, column)) - set(chosen):
            parts.append(f"{column} in {{{', '.join(map(fronts.value_text, chosen))}}}")
    return "; ".join(parts) or fronts.ALL_POINTS


def explorer_front(shown: pd.DataFrame, x: str, y: str, senses: dict[str, str],
                   filters: str = fronts.ALL_POINTS) -> fronts.Ranked:
    """The shown points ranked on x and y group by group (``dse.fronts``: one data set when
    accuracy is an axis, one workload otherwise); ``.front`` is what is drawn and exported."""
    objectives = {x: senses.get(x, metric_sense(x)), y: senses.get(y, metric_sense(y))}
    return fronts.rank_fronts(shown, objectives, filters)


def event_point_ids(event: dict | None) -> list[int]:
    """point_ids of a Graph's clickData / selectedData: customdata, else the ``#id`` that starts
    each explorer point's text."""
    ids = []
    points = event.get("points", []) if isinstance(event, dict) else []
    for point in points if isinstance(points, list) else []:
        if not isinstance(point, dict):
            continue  # the browser's events are trusted no more than its values
        if isinstance(point.get("customdata"), (int, str)):
            text = str(point["customdata"])
        elif str(point.get("text", "")).startswith("#"):
            text = str(point["text"])[1:].split(" ", 1)[0]
        else:
            continue
        if text.isdigit() and len(text) < 19:
            ids.append(int(text))
    return ids


# ----------------------------------------------------------------------------- footprint

def footprint_bars(footprint: pd.DataFrame, phase: str, batch: int, wbits: int,
                   abits: int) -> pd.DataFrame:
    """Weights and activations (MiB) per network at a batch and precision.

    ``training.footprint`` measures at batch 1 in fp32 and scales activations linearly with the
    batch and abits/32, weights with wbits/32; the same rule takes any of its rows to the
    batch and widths asked for here.
    """
    rows = footprint[footprint["phase"] == phase]
    base = rows.sort_values(["wbits", "batch"], ascending=[False, True]).drop_duplicates("model")
    order = list(dict.fromkeys(footprint["model"]))
    base = base.set_index("model").loc[[m for m in order if m in set(base["model"])]]
    return pd.DataFrame({
        "model": base.index,
        "weights_mib": (base["weights_mib"] / base["wbits"] * wbits).to_numpy(),
        "activations_mib": (base["activations_mib"] / (base["batch"] * base["abits"])
                            * batch * abits).to_numpy(),
    })


# ----------------------------------------------------------------------------- inside the array

@dataclass(frozen=True)
class ArrayRun:
    """One layer of one design point run clock by clock on the array (accelsim's cycle model)."""

    layer: str
    m: int
    n: int
    k: int
    rows: int
    cols: int
    dataflow: str
    holds: str               # what the PEs hold in a fold (accelsim.dataflows)
    cycles: int
    utilization: float
    macs: int
    temporal: int            # T: the GEMM dimension streamed through every fold
    preload: int             # clocks each fold spends loading its stationary tile (WS, IS)
    pe_busy: np.ndarray      # (rows, cols) busy cycles (MACs) of each PE
    # fold, first_row, first_col, start_clock, clocks, macs, utilization, used_rows, used_cols,
    # partial (the fold's tile leaves some of the array's rows or columns unused)
    folds: pd.DataFrame


def network_layers(model: str, dataset: str, width: float, widen: str) -> list[str]:
    """Layer names of a built-in network; empty for a network the simulator does not build."""
    workload = _workload(model, dataset, float(width), widen)
    return [] if workload is None else [layer.name for layer in workload.layers]


@lru_cache(maxsize=64)
def _workload(model: str, dataset: str, width: float, widen: str):
    if model not in builtin_names() or dataset not in DATASETS:
        return None
    image_size, channels, classes = DATASETS[dataset]
    return builtin(model, width=width, widen=widen, image_size=image_size, in_channels=channels,
                   num_classes=classes)


class ByteBoundedCache:
    """The last results of a function, kept while their arrays and tables total at most
    ``max_bytes``; least recently used go first.  A count would not bound memory: one
    1024 x 1024 run holds a thousand times a 32 x 32 one.  Thread-safe (the server is)."""

    def __init__(self, function, max_bytes: int):
        self.function, self.max_bytes = function, max_bytes
        self.entries: OrderedDict = OrderedDict()   # key -> (value, bytes)
        self.bytes = 0
        self.lock = threading.Lock()
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        key = args + tuple(sorted(kwargs.items()))
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key][0]
        value = self.function(*args, **kwargs)
        size = footprint_bytes(value)
        with self.lock:
            if key not in self.entries and size <= self.max_bytes:
                self.entries[key] = (value, size)
                self.bytes += size
                while self.bytes > self.max_bytes:
                    _, (_, gone) = self.entries.popitem(last=False)
                    self.bytes -= gone
        return value

    def cache_clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.bytes = 0


def footprint_bytes(value) -> int:
    """Bytes held by a dataclass's NumPy arrays and DataFrames (its scalars are noise)."""
    total = 0
    for item in vars(value).values():
        if isinstance(item, np.ndarray):
            total += item.nbytes
        elif isinstance(item, pd.DataFrame):
            total += int(item.memory_usage(deep=True).sum())
    return total


# One layer's run is kept to redraw its fold without simulating again: 64 MB of them.
ARRAY_CACHE_BYTES = 64 << 20


def array_run(model: str, dataset: str, width: float, widen: str, layer: str, rows: int,
              cols: int, dataflow: str, wbits: int, abits: int, seed: int = 0) -> ArrayRun:
    """Simulate one layer at batch 1 on seeded random operand codes of the array's widths.

    Busy cycles and the fold sequence depend on the GEMM's shape, not on the operand values, so
    random codes show the same picture as trained ones.  Raises ValueError for an unknown
    network or layer.
    """
    workload = _workload(model, dataset, float(width), widen)
    if workload is None:
        raise ValueError(f"{model} on {dataset} is not a network the simulator builds "
                         f"({', '.join(builtin_names())} on {', '.join(DATASETS)})")
    found = [l for l in workload.layers if l.name == layer]
    if not found:
        raise ValueError(f"{model} has no layer {layer!r}")
    m, n, k = found[0].gemm(1)
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, wbits=wbits, abits=abits)
    a, w = random_operands(m, n, k, cfg, np.random.default_rng(seed))
    result = simulate_gemm(a, w, cfg)
    log = result.fold_log
    clocks = log[:, kernels.FOLD_CLOCKS]
    folds = pd.DataFrame({
        "fold": np.arange(len(log)), "first_row": log[:, kernels.FOLD_ROW0],
        "first_col": log[:, kernels.FOLD_COL0],
        "start_clock": np.concatenate([[0], np.cumsum(clocks)[:-1]]), "clocks": clocks,
        "macs": log[:, kernels.FOLD_BUSY]})
    folds["utilization"] = folds["macs"] / (folds["clocks"] * cfg.pes)
    spatial_rows, spatial_cols, temporal = cfg.flow.mapped(m, n, k)
    folds["used_rows"] = np.minimum(rows, spatial_rows - folds["first_row"])
    folds["used_cols"] = np.minimum(cols, spatial_cols - folds["first_col"])
    folds["partial"] = (folds["used_rows"] < rows) | (folds["used_cols"] < cols)
    preload = fold_schedule(rows, cols, dataflow, rows, cols, temporal)["preload"]
    holds = {"ofmap": "outputs", "filter": "weights", "ifmap": "inputs"}[cfg.flow.held]
    return ArrayRun(layer=layer, m=m, n=n, k=k, rows=rows, cols=cols, dataflow=dataflow,
                    holds=holds, cycles=result.cycles, utilization=result.utilization,
                    macs=result.macs, temporal=temporal, preload=preload,
                    pe_busy=result.pe_busy, folds=folds)


array_run = ByteBoundedCache(array_run, ARRAY_CACHE_BYTES)


# What a PE does in a clock of one fold (fold_states): codes 0..4.
FOLD_STATES = ("idle: outside this fold's tile", "loading the stationary tile",
               "waiting for operands", "MAC", "done with this fold")


def fold_states(run: ArrayRun, fold: int, clocks) -> np.ndarray:
    """(len(clocks), rows, cols) codes into FOLD_STATES of one fold's PEs at each clock.

    From ``accelsim.analytic.fold_schedule``: PE (i, j) of the fold's tile works for T clocks
    from preload + i + j, the skewed wavefront the kernels run.
    """
    row = run.folds.iloc[fold]
    start = fold_schedule(run.rows, run.cols, run.dataflow, int(row["used_rows"]),
                          int(row["used_cols"]), run.temporal)["start"]
    t = np.asarray(clocks)[:, None, None]
    states = np.select([start < 0, t < run.preload, t < start, t < start + run.temporal],
                       [0, 1, 2, 3], 4)
    return np.broadcast_to(states, (len(clocks),) + start.shape).astype(np.int8)


def frame_clocks(clocks: int, limit: int, edge: int = 0) -> list[int]:
    """The clocks an animation of a fold shows: every one while they fit in ``limit``; else
    the first and last ``edge`` (the wavefront filling and draining the array, where each clock
    differs) and the rest spread evenly over the steady middle, first and last included."""
    if clocks <= limit:
        return list(range(clocks))
    if 2 * edge >= limit:
        edge = 0
    middle = np.linspace(edge, clocks - 1 - edge, limit - 2 * edge).round().astype(int)
    ends = list(range(edge)) + list(range(clocks - edge, clocks))
    return sorted(set(middle.tolist()) | set(ends))


def utilisation_losses(run: ArrayRun) -> pd.DataFrame:
    """Where the layer's PE-clocks go: MACs, preloading (WS, IS), the wavefront filling and
    draining, and PEs a partial fold leaves unused.  Rows sum to clocks x PEs."""
    f = run.folds
    used = f["used_rows"] * f["used_cols"]
    parts = {
        "MACs (busy)": int(f["macs"].sum()),
        "preload of the stationary tile": int((used * run.preload).sum()),
        "wavefront fill and drain": int((used * (f["clocks"] - run.temporal - run.preload))
                                        .sum()),
        "PEs outside partial folds' tiles": int(((run.rows * run.cols - used) * f["clocks"])
                                               .sum()),
    }
    frame = pd.DataFrame({"part": list(parts), "pe_clocks": list(parts.values())})
    frame["share"] = frame["pe_clocks"] / (int(f["clocks"].sum()) * run.rows * run.cols)
    return frame


__all__ = ["COST_AXES", "FOLD_STATES", "ArrayRun", "accuracy_datasets", "accuracy_points",
           "array_run", "colour_columns", "event_point_ids", "explorer_front", "filter_sweep",
           "filters_text", "fold_states", "footprint_bars", "frame_clocks", "front_mask",
           "is_discrete", "label", "metric_columns", "missing_rows", "network_layers", "options",
           "utilisation_losses"]


# ----------------------------------------------------------------------------- mixed precision

@dataclass(frozen=True)
class MixedStrips:
    """Per-layer widths of compared designs, one row per design (cheapest energy first)."""

    designs: list[str]          # row labels
    layers: list[str]           # column labels
    wbits: np.ndarray           # (designs, layers)
    abits: np.ndarray
    table: pd.DataFrame         # the designs' rows, in the same order


def mixed_strips(comparison: pd.DataFrame) -> MixedStrips:
    """The heat strips of ``experiments.mixed_precision``'s comparison table."""
    table = comparison.sort_values("energy_per_inference_uj").reset_index(drop=True)
    layers = str(table["layers"].iloc[0]).split() if len(table) else []
    widths = [[pair.split("/") for pair in str(text).split()] for text in table["layer_widths"]]
    wbits = np.array([[int(w) for w, _ in row] for row in widths], dtype=np.int64)
    abits = np.array([[int(a) for _, a in row] for row in widths], dtype=np.int64)
    short = [name.replace("stage", "s").replace(".block", "b").replace(".conv", "c")
             for name in layers]
    shape = (len(table), len(layers))
    return MixedStrips(list(table["design"]), short, wbits.reshape(shape),
                       abits.reshape(shape), table)
