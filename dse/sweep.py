"""``python -m dse.sweep``: sweep the accelerator's design space and write its Pareto front.

    python -m dse.sweep --rows 8 --cols 8 --wbits 2 --abits 8          # one point: a table
    python -m dse.sweep --rows 4:32:x2 --cols 4:32:x2 --wbits 2,4,32 --abits 8,32 --out runs/s

Every hardware option takes a value, a list (``4,8,16``) or an inclusive range (``4:32:4``, or
geometric ``4:64:x2``); networks and data sets take lists too.  A sweep writes ``sweep.csv``
(every point, ranked within its group: ``dse.fronts``) and ``pareto.csv`` (each group's front,
equal points collapsed) atomically; finished points are appended to a journal in ``--out`` as
they complete, so a killed sweep keeps them and ``--resume`` computes only the rest.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import json
import logging
import math
import os
import re
import sys
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from accelsim import cli
from accelsim.cost import load_table, run_notes
from accelsim.fileio import unwritable, write_atomic
from accelsim.formats import COLUMNS, MAX_WIDTH, metric_sense, normalise_dataset
from accelsim.graph import parse_shape
from accelsim.proc import die_with_parent
from accelsim.workload import WIDEN_CHOICES, builtin_names

from . import fronts, results
from .evaluate import ENGINES, evaluate
from .space import (DEFAULT_MODEL, MAX_POINTS, DesignSpace, UsageError, build_workloads,
                    check_configs, hardware_values, parse_values)

JOURNAL = ".sweep-journal.jsonl"
FORMATS = ("csv", "parquet")
# Objective names users type -> output column; any output column also works as COLUMN:min|max,
# its sense by default the metric's own (accelsim.formats.metric_sense).
OBJECTIVE_ALIASES = {
    "accuracy": "top1_err_pct",
    "top1_err": "top1_err_pct",
    "energy": "energy_per_inference_uj",
    "area": "area_mm2",
    "latency": "latency_ms",
    "power": "power_mw",
    "throughput": "inferences_per_s",
    "tops_per_w": "tops_per_w",
    "compute_cost": "compute_cost_mac_bits",
    "weight_memory": "weight_memory_kb",
    "activation_memory": "activation_memory_kb",
}
DEFAULT_OBJECTIVES = "accuracy,energy,area,latency"
ENDS_TEXT = {"fp32": "first conv and FC fp32 (WRPN)", "quantized": "first conv and FC quantized",
             "trace": "layer widths from the trace"}
CONNECT_TIMEOUT = "10s"  # to a Dask scheduler given by address
CLOSE_TIMEOUT_S = 10
# More worker processes than this would be a typo, not a machine (dask-local starts them all).
MAX_WORKERS = 256


# ----------------------------------------------------------------------------- the command line

def build_parser() -> argparse.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m dse.sweep",
                           description=__doc__.split("\n\n")[0].replace("``", ""))
    cli.add_hardware_options(p, lists=True)
    net = p.add_argument_group("network (each takes a value or a comma-separated list; every "
                               "combination is swept)")
    net.add_argument("--model", default=None,
                     help=f"built-in network(s): {', '.join(builtin_names())} (default "
                          f"{DEFAULT_MODEL} unless --trace or --onnx is given)")
    net.add_argument("--trace", default=None,
                     help="trace CSV(s) or SCALE-Sim topologies, swept beside any --model")
    net.add_argument("--onnx", default=None, help="an ONNX model, swept beside any --model and "
                                                  "--trace (GEMM ops on the array, widths from "
                                                  "its QONNX / QCDQ annotations)")
    net.add_argument("--input", default=None, help="with --onnx: the input's shape, e.g. "
                                                   "1,3,224,224, where the file leaves it "
                                                   "dynamic")
    net.add_argument("--dataset", default="cifar10",
                     help="data set(s): cifar10, fashion-mnist shape a built-in model's input; "
                          "for a trace only a label for the accuracy join")
    net.add_argument("--width", default="1", help=f"filter multiplier of every layer, > 0 and "
                                                  f"<= {MAX_WIDTH}")
    net.add_argument("--widen", default="none", help="none, first30 (the paper's WRPN: first "
                                                     "third of the layers x2) and/or all")
    net.add_argument("--teacher", default="none",
                     help="distillation teacher the accuracy comes from: none and/or a model "
                          "name (the paper's Apprentice uses resnet101)")
    net.add_argument("--accuracy", action="append", default=[], metavar="CSV",
                     help="accuracy CSV(s) of measured runs, joined beside the paper's Tables "
                          "1-4 (repeatable)")
    run = p.add_argument_group("run")
    run.add_argument("--engine", default="auto", choices=("auto",) + ENGINES,
                     help="auto: cycle-level for one point, analytic for a sweep (equal cycles)")
    run.add_argument("--objectives", default=DEFAULT_OBJECTIVES,
                     help="Pareto objectives: " + ", ".join(OBJECTIVE_ALIASES)
                          + ", or any output column as COLUMN:min|max; fronts compare one data "
                            "set with accuracy, one workload without")
    run.add_argument("--rank-overflowing", action="store_true",
                     help="rank designs whose accumulators can overflow on the fronts too "
                          "(default: they are left off, flagged in overflow_possible, and the "
                          "run says how many)")
    run.add_argument("--out", default=None,
                     help="directory for sweep.csv and pareto.csv (default ./sweep-results for "
                          "a sweep; one point prints only, unless --out is given)")
    run.add_argument("--format", default="csv", help="csv, or csv,parquet to add .parquet files")
    run.add_argument("--resume", action="store_true",
                     help="keep the points a killed run of the same sweep journalled in --out")
    run.add_argument("--scheduler", default="local",
                     help="local (processes on this machine), dask-local (a distributed."
                          "LocalCluster) or a Dask scheduler address tcp://host:8786")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help=f"processes for local / dask-local, 1..{MAX_WORKERS}")
    run.add_argument("--chunk-points", type=int, default=0,
                     help=f"points per task, 0..{MAX_POINTS:,} (0: about 250k point x layer "
                          "pairs per task)")
    run.add_argument("--progress", default="auto", choices=("auto", "on", "off"),
                     help="progress bar (auto: on a terminal)")
    run.add_argument("--columns", action="store_true",
                     help="print what each column of sweep.csv and pareto.csv means, and exit")
    return p


def space_from_args(args: argparse.Namespace) -> DesignSpace:
    """The design space the options describe; UsageError on bad input."""
    hardware = hardware_values(args)
    models = parse_values("--model", args.model, "str") if args.model is not None else []
    traces = _paths("--trace", args.trace)
    datasets = [normalise_dataset(d) for d in parse_values("--dataset", args.dataset, "str")]
    input_shape = None
    if args.input is not None:
        if args.onnx is None:
            raise UsageError("--input", "goes with --onnx (a trace or built-in has its shapes)")
        try:
            input_shape = parse_shape(args.input, flag="")
        except ValueError as err:
            raise UsageError("--input", str(err)) from None
    widths = parse_values("--width", args.width, "float", low=1e-9, high=MAX_WIDTH,
                          accepts=f"filter multipliers > 0 and <= {MAX_WIDTH} (1, 2, 1:3:0.5)")
    widens = parse_values("--widen", args.widen, "str", allowed=WIDEN_CHOICES)
    teachers = [results.normalise_teacher(t)
                for t in parse_values("--teacher", args.teacher, "str")]
    networks = build_workloads(models, traces, list(dict.fromkeys(datasets)), widths, widens,
                               args.onnx, input_shape, args.quantize_ends)
    return DesignSpace(hardware, networks, list(dict.fromkeys(teachers)))


def _paths(flag: str, text: str | None) -> list[str]:
    """Comma-separated file names, as typed (not lower-cased)."""
    if text is None:
        return []
    paths = [part.strip() for part in text.split(",")]
    if not all(paths):
        raise UsageError(flag, f"empty file name in {text!r}; accepts FILE or FILE,FILE")
    return list(dict.fromkeys(paths))


def columns_help() -> str:
    """What every column of sweep.csv / pareto.csv means (``--columns``)."""
    width = max(len(name) for name in COLUMNS) + 2
    lines = [f"{'column':<{width}}{'unit':<14}meaning"]
    for name, column in COLUMNS.items():
        meaning = column.label + (f": {column.meaning}" if column.meaning else "")
        lines.append(f"{name:<{width}}{column.unit or '-':<14}{meaning}")
    return "\n".join(lines)


def parse_objectives(text: str, columns, text_columns=()) -> dict[str, str]:
    """``accuracy,energy,latency_ms:min`` -> {column: sense}; columns: the output's columns,
    ``text_columns`` those of them that hold text (a front ranks numbers only)."""
    objectives: dict[str, str] = {}
    for token in (t.strip() for t in text.split(",")):
        name, _, sense = token.partition(":")
        if name.lower() in OBJECTIVE_ALIASES:
            column = OBJECTIVE_ALIASES[name.lower()]
        elif name and name in columns:
            column = name
        else:
            raise UsageError("--objectives", f"unknown objective {token!r}; accepts "
                             f"{', '.join(OBJECTIVE_ALIASES)} or an output column as "
                             "COLUMN:min|max")
        if column in text_columns:
            raise UsageError("--objectives", f"{name!r} holds text, not numbers; a front ranks "
                             "numeric columns (python -m dse.sweep --columns lists them)")
        sense = (sense or metric_sense(column)).lower()
        if sense not in ("min", "max"):
            raise UsageError("--objectives", f"{token!r}: the sense after ':' is min or max")
        objectives[column] = sense
    return objectives


SCHEDULER_ADDRESS = re.compile(r"(tcp|tls|ucx)://(?P<host>[^/:\[\]]+|\[[0-9a-fA-F:.]+\])"
                               r":(?P<port>\d{1,5})")
HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def parse_scheduler(text: str) -> str:
    """local, dask-local, or a scheduler address whose host and port are well formed (Dask's
    own parser fails on ``notahost..:99999`` with a UnicodeError from deep inside)."""
    if text in ("local", "dask-local"):
        return text
    accepts = "accepts local, dask-local or a Dask scheduler address such as tcp://host:8786"
    found = SCHEDULER_ADDRESS.fullmatch(text)
    if found is None:
        raise UsageError("--scheduler", f"{text[:80]!r}: {accepts}")
    host, port = found["host"], int(found["port"])
    if not host.startswith("[") and not all(HOST_LABEL.fullmatch(label)
                                            for label in host.split(".")):
        raise UsageError("--scheduler", f"{text[:80]!r}: {host[:80]!r} is not a host name or "
                                        f"address; {accepts}")
    if not 1 <= port <= 65535:
        raise UsageError("--scheduler", f"{text[:80]!r}: port {port} is not 1..65535; {accepts}")
    return text


def prepare_out(out: str) -> Path:
    """--out as a path, refused now if it cannot be written; nothing is created until the
    sweep runs (``lock_out``), so that bad input leaves no folder behind."""
    why = unwritable(out, folder=True)
    if why is not None:
        raise UsageError("--out", f"{out!r} {why}; accepts a writable directory")
    return Path(out)


def lock_out(out: Path) -> int:
    """Create --out and hold an exclusive lock on it for the rest of the process: two sweeps
    writing one journal (two --resume runs at once) would duplicate or lose points.  Returns
    the descriptor that holds the lock (the kernel drops it when the process ends)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_RDONLY)
    except OSError as err:
        raise UsageError("--out", f"cannot write to {str(out)!r} ({err.strerror or err}); "
                                  "accepts a writable directory") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UsageError("--out", f"{str(out)!r} is in use by another python -m dse.sweep; "
                                  "wait for it to finish, or give another --out") from None
    return fd


# ----------------------------------------------------------------------------- running points

def _chunks(points: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [points.iloc[i:i + size] for i in range(0, len(points), size)]


def run_points(points: pd.DataFrame, networks, engine: str, scheduler: str, workers: int,
               chunk_points: int, on_done, table=None) -> None:
    """Evaluate points in chunks on the scheduler; ``on_done(frame)`` gets each finished chunk.

    ``table``: the cost model's constants (a loaded TechTable travels to the workers)."""
    chunks = _chunks(points, chunk_points)
    if not chunks:
        return
    if scheduler == "local":
        if workers <= 1 or len(chunks) == 1:
            for chunk in chunks:
                on_done(evaluate(chunk, networks, engine, table))
            return
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks)),
                                 initializer=die_with_parent) as pool:
            futures = [pool.submit(evaluate, chunk, networks, engine, table) for chunk in chunks]
            try:
                for future in as_completed(futures):
                    on_done(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return
    _run_dask(chunks, networks, engine, scheduler, workers, on_done, table)


def _run_dask(chunks, networks, engine: str, scheduler: str, workers: int, on_done,
              table) -> None:
    # Distributed logs a lost connection as tracebacks of its own on stderr; the sweep reports
    # it as one line instead, so that logging is off (ERROR and below) while it runs.
    previous = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        _dask_sweep(chunks, networks, engine, scheduler, workers, on_done, table)
    finally:
        logging.disable(previous)


def _dask_sweep(chunks, networks, engine: str, scheduler: str, workers: int, on_done,
                table) -> None:
    from distributed import Client, KilledWorker, LocalCluster, as_completed as dask_completed

    cluster = None
    try:
        if scheduler == "dask-local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as err:
        raise UsageError("--scheduler", f"cannot reach {scheduler!r} ({err}); accepts local, "
                                        "dask-local or a running scheduler's address") from None
    try:
        shared = client.scatter(networks, broadcast=True)
        futures = [client.submit(evaluate, chunk, shared, engine, table, pure=False)
                   for chunk in chunks]
        for future in dask_completed(futures):
            on_done(future.result())
    except (OSError, CancelledError, KilledWorker) as err:
        # the scheduler or its workers died mid-sweep: what finished is journalled
        detail = " ".join(str(err).split())[:200] or "no detail"
        raise UsageError("--scheduler", f"lost {scheduler!r} mid-sweep ({type(err).__name__}: "
                                        f"{detail}); finished points stay in the journal: "
                                        "rerun with --resume") from None
    finally:
        try:
            client.close(timeout=CLOSE_TIMEOUT_S)
            if cluster is not None:
                cluster.close(timeout=CLOSE_TIMEOUT_S)
        except (OSError, CancelledError):
            pass  # closing what already died


# ----------------------------------------------------------------------------- the journal

def fingerprint(args: argparse.Namespace, engine: str) -> str:
    """What makes two runs the same sweep: every option that changes a point's figures."""
    fields = {name: getattr(args, name) for name in
              ("rows", "cols", "wbits", "abits", "dataflow", "acc_bits", "sram_kb", "dram_bw",
               "freq_mhz", "batch", "model", "trace", "dataset", "width", "widen", "teacher",
               "wide_layers", "between_layers", "quantize_ends")}
    fields["engine"] = engine
    if args.trace is not None:
        for path in _paths("--trace", args.trace):  # one trace: the key older journals have
            key = "trace_sha256" if path == args.trace else f"trace_sha256:{path}"
            fields[key] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if args.onnx is not None:  # only when given, so that older journals keep their ids
        fields.update(onnx_sha256=hashlib.sha256(Path(args.onnx).read_bytes()).hexdigest(),
                      input=args.input)
    if args.table is not None:
        fields["table_sha256"] = hashlib.sha256(Path(args.table).read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def journal_record(frame: pd.DataFrame) -> str:
    """One JSON line holding a finished chunk, exact for floats (repr round-trips)."""
    data = [frame[c].tolist() for c in frame.columns]
    return json.dumps({"columns": list(frame.columns),
                       "dtypes": [str(t) for t in frame.dtypes],
                       "rows": [list(row) for row in zip(*data)]}) + "\n"


def read_journal(path: Path, sweep_id: str) -> tuple[pd.DataFrame, int] | None:
    """The points a journal holds and how many of its records could not be read (None if it
    is from another sweep).

    A record is dropped, and its points computed again, when its line is torn (a kill
    mid-write), not JSON, or not a table of this version's columns (hand-edited, or damaged on
    disk); a point held twice (two runs that once shared --out) is kept once."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().split("\n")
        header = json.loads(lines[0])
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError("--resume", f"the journal {str(path)!r} cannot be read ({err}); "
                                     "delete it to start the sweep afresh") from None
    if not isinstance(header, dict) or header.get("sweep") != sweep_id:
        return None
    frames, dropped = [], 0
    for line in lines[1:]:
        if not line.strip():
            continue
        try:
            frames.append(_journal_frame(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError):
            dropped += 1
    if not frames:
        return pd.DataFrame(), dropped
    kept = pd.concat(frames, ignore_index=True).drop_duplicates("point_id", keep="first")
    return kept.reset_index(drop=True), dropped


def _journal_frame(record) -> pd.DataFrame:
    """One journal record as the frame it was written from; ValueError if it is not one."""
    columns, dtypes, rows = record["columns"], record["dtypes"], record["rows"]
    if (not isinstance(columns, list) or "point_id" not in columns
            or len(dtypes) != len(columns) or not all(len(row) == len(columns) for row in rows)):
        raise ValueError("not a journal record")
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(dict(zip(columns, dtypes)))


class Journal:
    """Append-only record of finished chunks, flushed and fsynced per chunk.

    The file is opened at the first finished chunk, so a run that fails before computing
    anything leaves no file behind (and a fresh run keeps an old journal until then).
    """

    def __init__(self, path: Path, sweep_id: str, fresh: bool):
        self.path, self.sweep_id, self.fresh = path, sweep_id, fresh
        self.handle = None

    def _write(self, text: str) -> None:
        self.handle.write(text)
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def append(self, frame: pd.DataFrame) -> None:
        if self.handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "w" if self.fresh else "a")
            if self.fresh:
                self._write(json.dumps({"sweep": self.sweep_id}) + "\n")
        self._write(journal_record(frame))

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


# ----------------------------------------------------------------------------- outputs

def finish(frame: pd.DataFrame, objectives: dict[str, str], accuracy_paths,
           rank_overflowing: bool = False) -> fronts.Ranked:
    """Join accuracy, then rank every point within its group (``dse.fronts``)."""
    frame = results.join_accuracy(frame, results.accuracy_table(accuracy_paths))
    for column in objectives:
        if column not in frame.columns:
            raise UsageError("--objectives", f"{column!r} is not an output column")
    return fronts.rank_fronts(frame, objectives, rank_overflowing=rank_overflowing)


def write_outputs(out: Path, ranked: fronts.Ranked, formats: list[str]) -> list[Path]:
    """sweep.csv (every point, ranked) and pareto.csv (the fronts, equal points collapsed)."""
    written = []
    for name, table in (("sweep", ranked.frame), ("pareto", ranked.front)):
        written.append(write_atomic(out / f"{name}.csv", table.to_csv(index=False)))
        if "parquet" in formats:
            buffer = io.BytesIO()
            table.to_parquet(buffer, index=False)
            written.append(write_atomic(out / f"{name}.parquet", buffer.getvalue()))
    return written


def fronts_text(ranked: fronts.Ranked, shown: int = 8) -> str:
    """One line per group: what it compares, its objectives, points on its front."""
    groups = ranked.groups()
    front = ranked.front
    designs = front.groupby("pareto_group", sort=False).size()
    lines = []
    for row in groups.head(shown).itertuples(index=False):
        objectives = ", ".join(f"{s} {c}" for c, s in
                               fronts.parse_objectives_text(row.objectives).items())
        equal = row.on_front - designs.get(row.pareto_group, 0)
        lines.append(f"  {row.pareto_group}: {row.on_front} of {row.points} points on the front "
                     f"over {objectives or 'no objective'}"
                     + (f" ({equal} equal to another, collapsed in pareto.csv)" if equal else ""))
    if len(groups) > shown:
        lines.append(f"  ... and {len(groups) - shown} more groups (pareto_group in the files)")
    return "\n".join(lines)


def format_point(row: pd.Series) -> str:
    """One design point as a readable two-column table."""
    def fmt(value, spec):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return format(value, spec) if spec else str(value)

    lines = []
    net = (f"{row['model']} ({row['dataset']}), width {row['width']:g}, widen {row['widen']}, "
           f"teacher {row['teacher']}, " + ENDS_TEXT.get(row.get("ends"), ""))
    hw = (f"{row['rows']}x{row['cols']} {row['dataflow'].upper()}, W{row['wbits']}/A{row['abits']}"
          f", acc {row['acc_bits']} b, {row['freq_mhz']:g} MHz, SRAM {row['ifmap_sram_kb']:g}/"
          f"{row['filter_sram_kb']:g}/{row['ofmap_sram_kb']:g} kB, DRAM "
          f"{row['dram_bw_bytes_per_cycle']:g} B/cycle, batch {row['batch']}")
    lines += [f"{'network':<28}{net}", f"{'array':<28}{hw}", ""]
    entries = [
        ("compute cycles", "cycles", ",d"), ("stall cycles", "stall_cycles", ",d"),
        ("total cycles", "total_cycles", ",d"), ("latency", "latency_ms", ".4f", "ms"),
        ("throughput", "inferences_per_s", ",.1f", "inferences/s"),
        ("utilisation", "utilization", ".2%"),
        ("accumulator overflows", "overflows", ",.0f"),
        ("  overflow possible", "overflow_possible", ""),
        ("MACs per inference", "macs_per_inference", ",d"),
        ("energy per inference", "energy_per_inference_uj", ".3f", "uJ"),
    ] + [(f"  {part}", f"energy_{part}_uj", ".3f", "uJ")
         for part in ("mac", "reg", "shift_add", "ifmap_sram", "filter_sram", "ofmap_sram",
                      "dram")] + [
        ("  of which host unit", "energy_host_uj", ".3f", "uJ"),
        ("area", "area_mm2", ".4f", "mm2"), ("  PE array", "pe_array_mm2", ".4f", "mm2"),
        ("  SRAMs", "sram_mm2", ".4f", "mm2"), ("power", "power_mw", ".2f", "mW"),
        ("peak TOPS", "peak_tops", ".4f"), ("achieved TOPS", "achieved_tops", ".4f"),
        ("TOPS/W", "tops_per_w", ".3f"),
        ("compute cost (FMAs x bits)", "compute_cost_mac_bits", ",d", "MAC-bits"),
        ("weight memory", "weight_memory_kb", ",.1f", "kB"),
        ("activation memory", "activation_memory_kb", ",.1f", "kB"),
    ]
    for entry in entries:
        label, column, spec = entry[:3]
        unit = entry[3] if len(entry) > 3 else ""
        if column in row.index:
            lines.append(f"{label:<28}{fmt(row[column], spec):>18} {unit}".rstrip())
    lines += ["", *run_notes(wide_layers=row["wide_layers"], between_layers=row["between_layers"],
                             zero_gating=row["zero_gating"], host_layers=row["host_layers"],
                             host_energy_uj=row["energy_host_uj"],
                             passes_layers=row["passes_layers"],
                             dram_share=row["energy_dram_share"]), ""]
    source = row.get("accuracy_source") or "unknown (no matching row in the accuracy tables)"
    lines.append(f"{'top-1 error':<28}{fmt(row.get('top1_err_pct'), '.2f'):>18} %   [{source}]")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    try:
        return _main(argv)
    except cli.UsageError as err:
        print(f"dse.sweep: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dse.sweep: interrupted; finished points stay in the journal, rerun with --resume",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co.
        cli.quiet_stdout()
        return 141


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    if args.columns:
        print(columns_help())
        return 0
    space = space_from_args(args)
    if space.size > MAX_POINTS:
        raise UsageError("the options", f"their product is {space.size:,} design points; one "
                         f"sweep takes at most {MAX_POINTS:,}: narrow a list or range, or split "
                         "the sweep")
    scheduler = parse_scheduler(args.scheduler)
    formats = parse_values("--format", args.format, "str", allowed=FORMATS)
    if not 1 <= args.workers <= MAX_WORKERS:
        raise UsageError("--workers", f"{args.workers}: accepts an integer in 1..{MAX_WORKERS}")
    if not 0 <= args.chunk_points <= MAX_POINTS:
        raise UsageError("--chunk-points", f"{args.chunk_points}: accepts an integer in "
                                           f"0..{MAX_POINTS}")
    for path in args.accuracy:
        try:
            if results.read_accuracy(path).empty:
                raise ValueError(f"accuracy CSV {str(path)!r} has a header but no rows: nothing "
                                 "to join")
        except ValueError as err:
            raise UsageError("--accuracy", str(err)) from None
    try:
        table = load_table(args.table)
    except ValueError as err:
        raise UsageError("--table", str(err)) from None
    points = space.points()
    check_configs(points)
    # One analytic point (milliseconds) names every output column, to check --objectives now
    # rather than after a long sweep.
    probe = _evaluated(evaluate, points.iloc[:1], space.networks, "analytic", table)
    probe = results.join_accuracy(probe)
    text_columns = {c for c in probe.columns if not pd.api.types.is_numeric_dtype(probe[c])}
    objectives = parse_objectives(args.objectives, set(probe.columns), text_columns)
    single = len(points) == 1
    engine = args.engine if args.engine != "auto" else ("cycle" if single else "analytic")
    out = prepare_out(args.out or "sweep-results") if (args.out or not single) else None
    sweep_id = fingerprint(args, engine)
    if out is None:
        return _run(args, space, points, engine, scheduler, table, objectives, formats,
                    single, None, sweep_id)
    created = not out.exists()
    lock = lock_out(out)
    try:
        return _run(args, space, points, engine, scheduler, table, objectives, formats, single,
                    out, sweep_id)
    except cli.UsageError:
        # bad input found only while running (a point whose counts overflow): leave no folder
        # this run made and found empty
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    finally:
        os.close(lock)


def _evaluated(function, *args):
    """``function(*args)`` with the simulator's ValueError (a layer too large to count, a
    trace's codes the cycle engine refuses) as one line naming the network and layer."""
    try:
        return function(*args)
    except cli.UsageError:
        raise
    except ValueError as err:
        raise UsageError("the design space", str(err)) from None


def _run(args, space, points, engine, scheduler, table, objectives, formats, single, out,
         sweep_id) -> int:
    """Evaluate the points not yet journalled, then rank and write (the sweep proper)."""
    done = []
    if out is not None and args.resume and (out / JOURNAL).is_file():
        found = read_journal(out / JOURNAL, sweep_id)
        if found is None:
            raise UsageError("--resume", f"the journal in {str(out)!r} is from a different sweep; "
                                         "accepts the same options as the interrupted run")
        kept, dropped = found
        if dropped:
            print(f"dse.sweep: note: {dropped} unreadable record(s) of the journal dropped; "
                  "their points are computed again")
        if len(kept):
            kept = kept[kept["point_id"].isin(points["point_id"])]
            done.append(kept)
            points = points[~points["point_id"].isin(kept["point_id"])]
    journal = Journal(out / JOURNAL, sweep_id, fresh=not done) if out is not None else None

    n_layers = max(len(n.layers) for n in space.networks)
    chunk = args.chunk_points or (1 if engine == "cycle"
                                  else max(1, min(-(-len(points) // args.workers),
                                                  (1 << 18) // n_layers)))
    from tqdm import tqdm
    disable = True if single else {"auto": None, "on": False, "off": True}[args.progress]
    with tqdm(total=space.size, initial=space.size - len(points), unit="pt", disable=disable,
              desc="sweep", dynamic_ncols=True) as bar:
        def on_done(frame: pd.DataFrame) -> None:
            if journal is not None:
                journal.append(frame)
            done.append(frame)
            bar.update(len(frame))
        try:
            _evaluated(run_points, points, space.networks, engine, scheduler, args.workers,
                       chunk, on_done, table)
        finally:
            if journal is not None:
                journal.close()

    frame = pd.concat(done, ignore_index=True).sort_values("point_id", kind="stable")
    ranked = finish(frame.reset_index(drop=True), objectives, args.accuracy,
                    args.rank_overflowing)
    if single:
        print(format_point(ranked.frame.iloc[0]))
    if out is not None:
        written = write_outputs(out, ranked, formats)
        (out / JOURNAL).unlink(missing_ok=True)
        if not single:
            groups = ranked.frame["pareto_group"].nunique()
            print(f"{len(ranked.frame)} design points ({engine}); a front per group of like "
                  f"points (one data set with accuracy as an objective, else one workload), "
                  f"{groups} group{'s' * (groups != 1)}:\n" + fronts_text(ranked))
        for note in ranked.notes:
            print("note: " + note)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
