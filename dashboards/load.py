"""Where the dashboard's numbers come from: a results folder, or a default sweep made at start-up.

A results folder (``--results DIR``) may hold ``sweep.csv`` (from ``python -m dse.sweep --out
DIR``), ``accuracy.csv`` (training's measured rows, DESIGN.md's accuracy format) and
``footprint.csv`` (from ``python -m training.footprint --out DIR``).  Each file is optional: a
missing sweep is replaced by the default sweep, a missing footprint by the copy shipped in
``dashboards/data/``, and the paper's Tables 1-4 and the project's committed measured rows
(``data/accuracy_measured.csv``) always come from ``dse``.  A file that cannot be
read becomes a message for the page, never an exception: the app starts and says what is wrong.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from accelsim import dataflows
from dse import results as accuracy
from dse.evaluate import evaluate
from dse.space import DesignSpace, build_networks, normalise_dataset

SWEEP_FILE, ACCURACY_FILE, FOOTPRINT_FILE = "sweep.csv", "accuracy.csv", "footprint.csv"
MIXED_FILE = "comparison.csv"
# The committed result of python -m experiments.mixed_precision (data/mixed_precision/).
MIXED_CSV = Path(__file__).resolve().parents[1] / "data" / "mixed_precision" / MIXED_FILE
MIXED_COLUMNS = ("design", "kind", "pe", "layers", "layer_widths", "top1_err_pct",
                 "top1_err_se", "runs", "top1_err_est_pct", "energy_per_inference_uj")
# Columns every view relies on; the explorer works with whatever numeric columns come beside them.
SWEEP_REQUIRED = ("model", "rows", "cols", "dataflow", "wbits", "abits")
SWEEP_INTEGER = ("point_id", "rows", "cols", "wbits", "abits", "batch")
# Network columns a dse sweep writes; an older or hand-made sweep gets these defaults.
SWEEP_DEFAULTS = {"dataset": "cifar10", "width": 1.0, "widen": "none", "teacher": "none",
                  "batch": 1}
FOOTPRINT_COLUMNS = ("model", "phase", "batch", "wbits", "abits", "weights_mib",
                     "activations_mib")
FOOTPRINT_PHASES = ("training", "inference")

# The default sweep: the paper's CIFAR-10 ResNets (Tables 1-4 give ResNet-44/56 accuracy) with
# and without WRPN widening and Apprentice's teacher, over the widths and array shapes an
# architect would try first.  4 x 2 x 2 x 5 x 3 x 4 x 4 x 3 = 11,520 points, about 2 s here.
DEFAULT_MODELS = ("resnet20", "resnet32", "resnet44", "resnet56")
DEFAULT_WIDENS = ("none", "first30")
DEFAULT_TEACHERS = ("none", "resnet101")
DEFAULT_HARDWARE = {
    "rows": [4, 8, 16, 32], "cols": [4, 8, 16, 32], "dataflow": list(dataflows.NAMES),
    "wbits": [1, 2, 4, 8, 32], "abits": [4, 8, 32], "acc_bits": [32], "freq_mhz": [1000.0],
    # dse names one SRAM size for all three (sram_kb); the three sizes are kept beside it for
    # dse versions that take them apart.  A single value each: they do not grow the grid.
    "sram_kb": [64.0], "ifmap_sram_kb": [64.0], "filter_sram_kb": [64.0], "ofmap_sram_kb": [64.0],
    "dram_bw_bytes_per_cycle": [16.0], "wide_layers": ["host"], "between_layers": ["sram"],
    "batch": [1],
}


@dataclass
class Results:
    """Everything the views show, with the messages the page must display about it."""

    sweep: pd.DataFrame
    accuracy: pd.DataFrame     # paper rows plus measured rows, DESIGN.md's accuracy columns
    footprint: pd.DataFrame    # training.footprint's columns
    source: str                # one line for the page header
    messages: list[str] = field(default_factory=list)
    # experiments.mixed_precision's comparison (the folder's, else the committed one)
    mixed: pd.DataFrame = field(default_factory=lambda: read_mixed(MIXED_CSV))


def default_sweep(models=DEFAULT_MODELS, hardware=None, measured=None,
                  table=None, quantize_ends: bool = False) -> pd.DataFrame:
    """The start-up sweep, evaluated in-process with dse's analytic engine.

    Beside the paper's CIFAR-10 family it sweeps every network family of ``measured`` (default:
    the project's committed measured rows) so that those points appear out of the box.
    ``hardware``: grid axis -> values (default DEFAULT_HARDWARE); ``table``: the cost model's
    constants (default 45 nm); ``quantize_ends``: the built-in networks' first conv and FC at
    the array's widths (no accuracy row holds such a network).
    """
    hardware = hardware or DEFAULT_HARDWARE
    networks = []
    for model in models:
        networks += build_networks(model, None, [1.0], list(DEFAULT_WIDENS), "cifar10",
                                   quantize_ends=quantize_ends)
    spaces = [DesignSpace(hardware, networks, list(DEFAULT_TEACHERS))]
    measured = _committed_measured() if measured is None else measured
    for (model, dataset, width), rows in measured.groupby(["model", "dataset", "width"]):
        family = build_networks(model, None, [float(width)], sorted(rows["widen"].unique()),
                                dataset, quantize_ends=quantize_ends)
        spaces.append(DesignSpace(hardware, family, sorted(rows["teacher"].unique())))
    sweep = pd.concat([evaluate(space.points(), space.networks, "analytic", table)
                       for space in spaces], ignore_index=True)
    sweep["point_id"] = np.arange(len(sweep))  # each space numbers its points from 0
    return sweep


def _committed_measured() -> pd.DataFrame:
    table = accuracy.shipped_accuracy()
    return table[table["source"].str.lower().eq("measured")]


def check_sweep(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """A sweep table ready for the views; ValueError with a readable message when it is not."""
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in SWEEP_REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {', '.join(missing)}; a sweep written by "
                         "`python -m dse.sweep --out DIR` has them")
    if frame.empty:
        raise ValueError(f"{name}: has a header but no design points")
    for column, value in SWEEP_DEFAULTS.items():
        if column not in frame.columns:
            frame[column] = value
    if "point_id" not in frame.columns:
        frame.insert(0, "point_id", np.arange(len(frame), dtype=np.int64))
    for column in SWEEP_INTEGER:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() | (numbers != np.round(numbers))
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ValueError(f"{name} line {line}: {column}={frame[column][bad].iloc[0]!r} is "
                             "not an integer")
        frame[column] = numbers.astype(np.int64)
    if frame["point_id"].duplicated().any():
        raise ValueError(f"{name}: point_id repeats; each design point needs its own id")
    frame["width"] = pd.to_numeric(frame["width"], errors="coerce").fillna(1.0)
    for column in ("model", "dataset", "widen", "teacher", "dataflow"):
        frame[column] = frame[column].astype(str).str.strip().str.lower()
    frame["teacher"] = frame["teacher"].map(accuracy.normalise_teacher)
    frame["dataset"] = frame["dataset"].map(normalise_dataset)
    # A column of numbers that pandas read as text (a stray word in it) would silently drop out
    # of the metric pickers; say so instead.
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if numbers.notna().mean() > 0.9 and numbers.isna().any():
                line = int(np.flatnonzero(numbers.isna().to_numpy())[0]) + 2
                raise ValueError(f"{name} line {line}: {column}={frame[column].iloc[line - 2]!r}"
                                 " is not a number")
    return frame.reset_index(drop=True)


def read_sweep(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{path.name}: cannot be read as CSV ({_first_line(err)})") from None
    return check_sweep(frame, path.name)


def check_footprint(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in FOOTPRINT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {', '.join(missing)}; `python -m "
                         "training.footprint --out DIR` writes them")
    frame = frame[list(FOOTPRINT_COLUMNS)].copy()
    for column in FOOTPRINT_COLUMNS[2:]:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() | (numbers < 0)
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ValueError(f"{name} line {line}: {column}={frame[column][bad].iloc[0]!r} is "
                             "not a number >= 0")
        frame[column] = numbers
    frame["phase"] = frame["phase"].astype(str).str.strip().str.lower()
    unknown = sorted(set(frame["phase"]) - set(FOOTPRINT_PHASES))
    if unknown:
        raise ValueError(f"{name}: phase {unknown[0]!r} is neither training nor inference")
    if (frame[["batch", "wbits", "abits"]] < 1).any().any():
        raise ValueError(f"{name}: batch, wbits and abits must be >= 1")
    if frame.empty:
        raise ValueError(f"{name}: has a header but no rows")
    return frame.reset_index(drop=True)


def read_mixed(path) -> pd.DataFrame:
    """A mixed-precision comparison table; empty when absent (the view then says so)."""
    if not Path(str(path)).is_file():
        return pd.DataFrame(columns=list(MIXED_COLUMNS))
    frame = pd.read_csv(path, keep_default_na=True)
    missing = [c for c in MIXED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{Path(str(path)).name}: missing columns {', '.join(missing)} (it "
                         "is written by python -m experiments.mixed_precision)")
    return frame


def read_footprint(path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{Path(str(path)).name}: cannot be read as CSV "
                         f"({_first_line(err)})") from None
    return check_footprint(frame, Path(str(path)).name)


def shipped_footprint() -> pd.DataFrame:
    """The footprint table shipped with the package (see ``dashboards/data/__init__.py``)."""
    with resources.as_file(resources.files("dashboards.data") / FOOTPRINT_FILE) as path:
        return read_footprint(path)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def load(results_dir: str | Path | None, hardware=None, table=None,
         quantize_ends: bool = False) -> Results:
    """Read a results folder (or make the default sweep); problems become page messages.

    ``hardware``, ``table`` and ``quantize_ends`` shape the default sweep (``default_sweep``);
    a folder's sweep.csv has its own, and a message says that they were not used.
    """
    messages: list[str] = []
    folder = Path(results_dir) if results_dir is not None else None
    started = time.perf_counter()
    if folder is not None and (folder / SWEEP_FILE).exists():
        try:
            sweep = read_sweep(folder / SWEEP_FILE)
            source = (f"results folder {folder.name}/: {len(sweep):,} design points from "
                      f"{SWEEP_FILE}")
            if hardware is not None or table is not None or quantize_ends:
                messages.append(f"The hardware and cost-model options shape the start-up sweep "
                                f"only: {SWEEP_FILE} in {folder.name}/ is shown as it was "
                                "swept.")
        except ValueError as err:
            messages.append(f"{err}. The sweep views stay empty until the file is fixed.")
            sweep = pd.DataFrame(columns=list(SWEEP_REQUIRED) + list(SWEEP_DEFAULTS))
            source = f"results folder {folder.name}/: {SWEEP_FILE} could not be used"
    else:
        if folder is not None:
            messages.append(f"No {SWEEP_FILE} in {folder.name}/: showing the default sweep "
                            "(write one with `python -m dse.sweep --out DIR`).")
        sweep = check_sweep(default_sweep(hardware=hardware, table=table,
                                          quantize_ends=quantize_ends), "default sweep")
        source = (f"default sweep: {len(sweep):,} design points computed at start-up in "
                  f"{time.perf_counter() - started:.1f} s (dse analytic engine)")
    table = accuracy.shipped_accuracy()
    if folder is not None and (folder / ACCURACY_FILE).is_file():
        try:
            table = pd.concat([table, accuracy.read_accuracy(folder / ACCURACY_FILE)],
                              ignore_index=True)
        except ValueError as err:
            messages.append(f"{_without_folder(str(err), folder)}. Showing the paper's Tables "
                            "1-4 only.")
    footprint = None
    if folder is not None and (folder / FOOTPRINT_FILE).is_file():
        try:
            footprint = read_footprint(folder / FOOTPRINT_FILE)
        except ValueError as err:
            messages.append(f"{err}. Showing the footprint shipped with the dashboard.")
    if footprint is None:
        footprint = shipped_footprint()
    mixed = read_mixed(MIXED_CSV)
    if folder is not None and (folder / MIXED_FILE).is_file():
        try:
            mixed = read_mixed(folder / MIXED_FILE)
        except ValueError as err:
            messages.append(f"{err}. Showing the committed mixed-precision comparison.")
    # A sweep joined its accuracy when it ran; join again so measured rows added since count.
    if len(sweep):
        sweep = accuracy.join_accuracy(sweep, table)
    return Results(sweep, table, footprint, source, messages, mixed)


def _without_folder(text: str, folder: Path) -> str:
    """dse's messages quote the whole path; the page names files relative to the folder."""
    return text.replace(repr(str(folder / ACCURACY_FILE)), repr(ACCURACY_FILE))


__all__ = ["Results", "check_footprint", "check_sweep", "default_sweep", "load",
           "read_footprint", "read_sweep", "shipped_footprint"]
