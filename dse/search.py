"""Per-layer mixed precision searched jointly with the array: ``python -m dse.search``.

    python -m dse.search --sensitivity runs/sensitivity --model resnet20 --dataset fashion-mnist \\
        --width 0.5 --rows 4:32:x2 --cols 4:32:x2 --dataflow os,ws --wbits 1,2,4,8 --abits 2,4,8 \\
        --layer-wbits 1,2,4,8 --layer-abits 2,4,8 --objectives error,energy --out runs/search

A candidate is an array (rows, cols, dataflow, the PE's operand widths, SRAM size) and a width
pair for each quantized layer of the network (WRPN's fp32 ends stay fp32).  Its cost comes from
the analytic engine, every layer at its own widths (a layer wider than the PE runs on the host
unit or in passes, as the sweep prices it); its error is estimated from a sensitivity table
(``python -m experiments.sensitivity``): the reference network's measured error plus, for every
layer moved off the reference's widths, that move's measured error change, added up.  Measured
runs of a candidate's widths (its ``policy`` id in an accuracy CSV, or the uniform widths of a
plain run) replace the estimate in the final front, which says which it used.

The optimiser is NSGA-II from pymoo: a population-based genetic algorithm evaluates a whole
generation at once, which is what the vectorised analytic engine wants (one call prices every
candidate x layer pair), and its integer encoding maps directly onto lists of allowed widths.
Every generation is journalled as it finishes (OUT/generations/); ``--resume`` starts again from
the best population found so far and evaluates only new candidates.  At the end OUT/search.csv
holds every candidate with its Pareto rank, front.csv the front, and policies.csv the front's
per-layer widths, ready for ``python -m training.train --layer-bits OUT/policies.csv --policy
ID``.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from accelsim import cli
from accelsim.fileio import write_atomic
from accelsim.formats import SENSITIVITY_COLUMNS
from accelsim.policy import Policy, write_policies

from . import results
from .evaluate import layer_frame, summarise
from .pareto import pareto_ranks
from .space import (GRID_AXES, GRID_DEFAULTS, HARDWARE_COLUMNS, NETWORK_COLUMNS, SRAM_COLUMNS,
                    Network, UsageError, build_networks, check_configs, hardware_values,
                    normalise_dataset, parse_values)
from .sweep import OBJECTIVE_ALIASES, parse_objectives, parse_scheduler

# The array's genes: every hardware axis of a sweep; an axis given one value is a gene with one
# allele.  Then two genes (weight and activation widths) per searched layer.
ARRAY_GENES = GRID_AXES
DEFAULT_LAYER_WBITS = "1,2,4,8"
DEFAULT_LAYER_ABITS = "2,4,8"


# ----------------------------------------------------------------------------- accuracy model

@dataclass(frozen=True)
class AccuracyModel:
    """err = reference error + sum over layers of the measured change of moving that layer's
    weights and activations, each alone, to a candidate's widths (sensitivity.csv)."""

    reference_err_pct: float
    reference_bits: dict[str, tuple[int, int]]           # searched layer -> reference widths
    delta_pct: dict[tuple[str, str, int], float]         # (layer, "w"|"a", bits) -> change

    @classmethod
    def read(cls, folder: str | os.PathLike, reference_err_pct: float | None = None
             ) -> "AccuracyModel":
        """From experiments.sensitivity's folder (sensitivity.csv + calibration.json)."""
        folder = Path(folder)
        try:
            table = pd.read_csv(folder / "sensitivity.csv")
            calibration = json.loads((folder / "calibration.json").read_text())
        except (OSError, ValueError, pd.errors.ParserError) as err:
            raise ValueError(f"{folder}: no sensitivity table ({err}); make one with python -m "
                             "experiments.sensitivity") from None
        missing = set(SENSITIVITY_COLUMNS) - set(table.columns)
        if missing:
            raise ValueError(f"{folder / 'sensitivity.csv'}: missing columns "
                             f"{', '.join(sorted(missing))}")
        ref_w, ref_a = int(calibration["wbits"]), int(calibration["abits"])
        layers = list(dict.fromkeys(table["layer"]))
        delta = {(r.layer, r.operand, int(r.bits)): float(r.delta_pct)
                 for r in table.itertuples()}
        for layer in layers:
            delta[(layer, "w", ref_w)] = delta[(layer, "a", ref_a)] = 0.0
        err = float(calibration["reference_err_pct"] if reference_err_pct is None
                    else reference_err_pct)
        return cls(err, {layer: (ref_w, ref_a) for layer in layers}, delta)

    @property
    def layers(self) -> list[str]:
        return list(self.reference_bits)

    def table(self, operand: str, choices: list[int]) -> np.ndarray:
        """(layers, choices) array of deltas; ValueError naming a choice the table lacks."""
        out = np.empty((len(self.layers), len(choices)))
        for i, layer in enumerate(self.layers):
            for j, bits in enumerate(choices):
                key = (layer, operand, bits)
                if key not in self.delta_pct:
                    flag = "--layer-wbits" if operand == "w" else "--layer-abits"
                    raise ValueError(f"{flag} {bits}: the sensitivity table has no "
                                     f"measurement of {layer} at {bits}-bit "
                                     f"{'weights' if operand == 'w' else 'activations'}")
                out[i, j] = self.delta_pct[key]
        return out


# ----------------------------------------------------------------------------- the space

@dataclass(frozen=True)
class SearchSpace:
    """The allowed values of every gene; a candidate is one index into each."""

    array: dict[str, list]       # ARRAY_GENES -> values
    layers: list[str]            # the searched layers, in network order
    layer_wbits: list[int]
    layer_abits: list[int]

    @property
    def upper(self) -> np.ndarray:
        """Largest index of each gene."""
        sizes = [len(self.array[g]) for g in ARRAY_GENES]
        sizes += [len(self.layer_wbits), len(self.layer_abits)] * len(self.layers)
        return np.array(sizes, dtype=np.int64) - 1

    def decode(self, genes: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """(arrays, W, A): one row of array columns per candidate, and (candidates, layers)
        weight and activation widths of the searched layers."""
        genes = np.asarray(genes, dtype=np.int64)
        arrays = pd.DataFrame({g: np.array(self.array[g], dtype=object if g == "dataflow"
                                           else None)[genes[:, k]]
                               for k, g in enumerate(ARRAY_GENES)})
        per_layer = genes[:, len(ARRAY_GENES):]
        w = np.array(self.layer_wbits, dtype=np.int64)[per_layer[:, 0::2]]
        a = np.array(self.layer_abits, dtype=np.int64)[per_layer[:, 1::2]]
        return arrays, w, a


def policy_id(layers: list[str], w: np.ndarray, a: np.ndarray) -> str:
    """A candidate's per-layer widths as a short stable id; '' when they are uniform (then the
    plain runs of those widths are the candidate's measured accuracy)."""
    if len(set(w.tolist())) == 1 and len(set(a.tolist())) == 1:
        return ""
    text = ",".join(f"{n}:{wb}:{ab}" for n, wb, ab in zip(layers, w.tolist(), a.tolist()))
    return "mp-" + hashlib.sha1(text.encode()).hexdigest()[:10]


def policies_of(layers: list[str], w: np.ndarray, a: np.ndarray) -> dict[str, Policy]:
    """Each mixed row's policy (id -> layer -> widths), for training.train --layer-bits."""
    out = {}
    for wr, ar in zip(np.atleast_2d(w), np.atleast_2d(a)):
        pid = policy_id(layers, wr, ar)
        if pid:
            out[pid] = {n: (int(x), int(y)) for n, x, y in zip(layers, wr, ar)}
    return out


def crowded_best(frame: pd.DataFrame, objectives: dict[str, str], n: int) -> np.ndarray:
    """Indices of the ``n`` best rows: by Pareto rank, ties broken by crowding distance (the
    NSGA-II survival), to seed a resumed search with the population it would have kept."""
    ranks = pareto_ranks(frame, objectives)
    values = frame[list(objectives)].to_numpy(dtype=float)
    spread = np.zeros(len(frame))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        for j in range(values.shape[1]):
            order = members[np.argsort(values[members, j], kind="stable")]
            span = values[order[-1], j] - values[order[0], j] or 1.0
            spread[order[0]] = spread[order[-1]] = np.inf
            spread[order[1:-1]] += (values[order[2:], j] - values[order[:-2], j]) / span
    return np.lexsort((-spread, ranks))[:n]


# ----------------------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class Problem:
    """What pricing a candidate needs; picklable, so a Dask worker gets it once."""

    space: SearchSpace
    network: Network
    accuracy: AccuracyModel
    table: object = None        # the cost model's constants (accelsim.cost.load_table), or None

    def columns_of_layers(self) -> np.ndarray:
        """Index of each searched layer among the network's rows."""
        names = self.network.layers["layer"].tolist()
        return np.array([names.index(layer) for layer in self.space.layers])


def evaluate_genes(problem: Problem, genes: np.ndarray, first_id: int = 0) -> pd.DataFrame:
    """Price a batch of candidates with the vectorised analytic engine and estimate their
    error; one row per candidate (hardware, sweep metrics, estimate, policy, per-layer widths)."""
    space, network = problem.space, problem.network
    arrays, w, a = space.decode(genes)
    n = len(arrays)
    points = pd.DataFrame({"point_id": np.arange(first_id, first_id + n), "net": 0})
    for column in NETWORK_COLUMNS[:-1]:
        points[column] = getattr(network, column)
    points["teacher"] = "none"
    for axis in ARRAY_GENES:
        for column in (SRAM_COLUMNS if axis == "sram_kb" else (axis,)):
            points[column] = arrays[axis].to_numpy()
    points = points[["point_id", "net", *NETWORK_COLUMNS, *HARDWARE_COLUMNS]]
    # Every layer at its widths: the network's own (fp32 ends), the array's where the network
    # takes them (host ops), and the candidate's for the searched layers.
    follows = network.layers["array_widths"].to_numpy(dtype=bool)
    widths = []
    for side, chosen in (("wbits", w), ("abits", a)):
        full = np.where(follows[None, :], points[side].to_numpy()[:, None],
                        network.layers[f"layer_{side}"].to_numpy()[None, :])
        full[:, problem.columns_of_layers()] = chosen
        widths.append(full)
    frame = layer_frame(points, network, layer_widths=tuple(widths))
    out = summarise(points, frame, network, problem.table)
    d_w = problem.accuracy.table("w", space.layer_wbits)
    d_a = problem.accuracy.table("a", space.layer_abits)
    rows = np.arange(len(space.layers))
    wi = np.searchsorted(space.layer_wbits, w)
    ai = np.searchsorted(space.layer_abits, a)
    out["top1_err_est_pct"] = (problem.accuracy.reference_err_pct
                               + d_w[rows, wi].sum(axis=1) + d_a[rows, ai].sum(axis=1))
    out["policy"] = [policy_id(space.layers, wr, ar) for wr, ar in zip(w, a)]
    out["layer_widths"] = [" ".join(f"{x}/{y}" for x, y in zip(wr, ar)) for wr, ar in zip(w, a)]
    out["genes"] = [" ".join(map(str, g)) for g in np.asarray(genes, dtype=np.int64)]
    return out


def evaluate_batches(problem: Problem, genes: np.ndarray, first_id: int, scheduler: str,
                     workers: int, client=None) -> pd.DataFrame:
    """``evaluate_genes`` on the scheduler: in this process (local), or split over Dask workers
    (``client``: a connected distributed.Client), in candidate order."""
    if scheduler == "local" or client is None:
        return evaluate_genes(problem, genes, first_id)
    parts = np.array_split(np.arange(len(genes)), max(1, workers))
    futures = [client.submit(evaluate_genes, problem, genes[idx], first_id + int(idx[0]),
                             pure=False) for idx in parts if len(idx)]
    return pd.concat(client.gather(futures), ignore_index=True)


# ----------------------------------------------------------------------------- measured accuracy

def measured_errors(candidates: pd.DataFrame, table: pd.DataFrame, quantizer: str,
                    reference: tuple[int, int]) -> pd.DataFrame:
    """Mean, run count and standard error of measured runs of each candidate's widths: rows of
    its policy id, or for a uniform candidate the plain runs of those widths (no teacher, the
    reference's quantizer); NaN where none."""
    measured = table[table["source"].str.lower().eq("measured")
                     & table["quantizer"].eq(quantizer) & table["teacher"].eq("none")]
    keys = ["model", "dataset", "width", "widen", "policy", "wbits", "abits"]
    stats = measured.groupby(keys).top1_err.agg(["mean", "count", "std"]).reset_index()
    stats["se"] = stats["std"] / np.sqrt(stats["count"])
    cand = candidates[["model", "dataset", "width", "widen", "policy"]].copy()
    cand["dataset"] = cand["dataset"].map(normalise_dataset)
    uniform = cand["policy"].eq("")
    # A mixed policy's rows carry the reference's uniform widths beside the policy id.
    first = candidates["layer_widths"].str.split(" ").str[0].str.split("/")
    cand["wbits"] = np.where(uniform, first.str[0].astype(int), reference[0])
    cand["abits"] = np.where(uniform, first.str[1].astype(int), reference[1])
    stats["dataset"] = stats["dataset"].map(normalise_dataset)
    joined = cand.merge(stats, on=keys, how="left")
    return pd.DataFrame({"top1_err_measured_pct": joined["mean"].to_numpy(),
                         "measured_runs": joined["count"].fillna(0).astype(int).to_numpy(),
                         "top1_err_se": joined["se"].to_numpy()}, index=candidates.index)


def with_best_error(candidates: pd.DataFrame, measured: pd.DataFrame) -> pd.DataFrame:
    """``top1_err_pct``: the measured mean where runs exist, else the estimate, with
    ``error_source`` saying which."""
    out = pd.concat([candidates, measured], axis=1)
    have = out["measured_runs"] > 0
    out["top1_err_pct"] = np.where(have, out["top1_err_measured_pct"], out["top1_err_est_pct"])
    out["error_source"] = np.where(have, "measured (" + out["measured_runs"].astype(str)
                                   + " runs)", "estimate")
    return out


# ----------------------------------------------------------------------------- the optimiser

JOURNAL = "search.csv"
GENERATIONS = "generations"   # the journal: one CSV per finished generation
SETTINGS = "search.json"


def search(problem: Problem, objectives: dict[str, str], population: int, generations: int,
           seed: int, out: Path, resume: bool = False, scheduler: str = "local",
           workers: int = 1, log=print) -> pd.DataFrame:
    """Run NSGA-II for ``generations`` generations of ``population`` candidates, each finished
    generation's new candidates written to OUT/generations/gen-NNNNN.csv (whole or not at all,
    so a kill loses at most the generation in progress); return every candidate evaluated
    (this run's and a resumed one's)."""""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem as PymooProblem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling

    upper = problem.space.upper
    objective_columns = {("top1_err_est_pct" if c == "top1_err_pct" else c): s
                         for c, s in objectives.items()}
    journal = out / GENERATIONS
    files = sorted(journal.glob("gen-*.csv")) if resume else []
    done = pd.concat([read_candidates(f) for f in files], ignore_index=True) if files else None
    start_gen = int(done["generation"].max()) + 1 if done is not None and len(done) else 0
    sampling = IntegerRandomSampling()
    if start_gen:
        best = crowded_best(done, objective_columns, population)
        sampling = np.array([list(map(int, g.split())) for g in done["genes"].iloc[best]])
    algorithm = NSGA2(pop_size=population, sampling=sampling, eliminate_duplicates=True,
                      crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                      mutation=PM(eta=20, vtype=float, repair=RoundingRepair()))
    shell = PymooProblem(n_var=len(upper), n_obj=len(objective_columns), xl=0, xu=upper,
                         vtype=int)
    algorithm.setup(shell, termination=("n_gen", max(1, generations - start_gen)),
                    seed=seed + start_gen, verbose=False)
    signs = np.array([1.0 if s == "min" else -1.0 for s in objective_columns.values()])

    def scores(frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """genes -> the objective vector pymoo minimises."""
        values = frame[list(objective_columns)].to_numpy(dtype=float) * signs
        return dict(zip(frame["genes"], values))

    known = {} if done is None else scores(done)
    frames = [] if done is None else [done]
    next_id = 0 if done is None else int(done["point_id"].max()) + 1
    client, cluster = _connect(scheduler, workers)
    try:
        generation = start_gen
        while generation < generations and algorithm.has_next():
            pop = algorithm.ask()
            genes = np.clip(np.rint(pop.get("X")).astype(np.int64), 0, upper)
            keys = [" ".join(map(str, g)) for g in genes]
            new = [i for i, k in enumerate(keys) if k not in known]
            if new:
                priced = evaluate_batches(problem, genes[new], next_id, scheduler, workers,
                                          client)
                priced.insert(0, "generation", generation)
                next_id += len(priced)
                write_atomic(journal / f"gen-{generation:05d}.csv", priced.to_csv(index=False))
                frames.append(priced)
                known.update(scores(priced))
            pop.set("F", np.array([known[k] for k in keys]))
            algorithm.tell(infills=pop)
            generation += 1
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    log(f"{generations - start_gen} generations of {population} in this run"
        + (f" (resumed after generation {start_gen - 1})" if start_gen else ""))
    return pd.concat(frames, ignore_index=True)


def read_candidates(path: str | os.PathLike) -> pd.DataFrame:
    """A file of candidates (a journalled generation, search.csv, front.csv) as written: numbers
    as numbers, an empty policy as '' (a uniform candidate), not NaN."""
    frame = pd.read_csv(path)
    for column in ("policy", "zero_gating"):
        if column in frame:
            frame[column] = frame[column].fillna("")
    return frame


def _connect(scheduler: str, workers: int):
    """(client, cluster) for a Dask scheduler, (None, None) for local."""
    if scheduler == "local":
        return None, None
    from distributed import Client, LocalCluster

    from .sweep import CONNECT_TIMEOUT
    cluster = None
    try:
        if scheduler == "dask-local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            return Client(cluster), cluster
        return Client(scheduler, timeout=CONNECT_TIMEOUT), None
    except (OSError, ValueError) as err:
        if cluster is not None:
            cluster.close()
        raise UsageError("--scheduler", f"cannot reach {scheduler!r} ({err}); accepts local, "
                                        "dask-local or a running scheduler's address") from None


def final_front(evaluated: pd.DataFrame, objectives: dict[str, str], accuracy: pd.DataFrame,
                quantizer: str, reference: tuple[int, int]) -> pd.DataFrame:
    """Every candidate with its best-known error (measured where runs exist), ranked; rank 1
    is the front."""
    unique = evaluated.drop_duplicates("genes").reset_index(drop=True)
    scored = with_best_error(unique, measured_errors(unique, accuracy, quantizer, reference))
    scored["pareto_rank"] = pareto_ranks(scored, objectives)
    scored["pareto_objectives"] = " ".join(f"{s}:{c}" for c, s in objectives.items())
    return scored.sort_values(["pareto_rank", *objectives]).reset_index(drop=True)


# ----------------------------------------------------------------------------- command line

def build_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m dse.search", description=__doc__.split("\n\n")[0])
    cli.add_hardware_options(p, lists=True)
    net = p.add_argument_group("network (one)")
    net.add_argument("--model", default="resnet20", help="built-in CIFAR ResNet")
    net.add_argument("--dataset", default="fashion-mnist", help="input shapes (cifar10, "
                     "fashion-mnist), and the data set of the accuracy rows")
    net.add_argument("--width", type=float, default=0.5, help="filter multiplier")
    net.add_argument("--widen", default="none", help="none, first30 or all")
    s = p.add_argument_group("search")
    s.add_argument("--sensitivity", required=True, metavar="DIR",
                   help="python -m experiments.sensitivity's folder: the accuracy model")
    s.add_argument("--layer-wbits", default=DEFAULT_LAYER_WBITS,
                   help="weight widths a searched layer may take (list)")
    s.add_argument("--layer-abits", default=DEFAULT_LAYER_ABITS,
                   help="activation widths a searched layer may take (list)")
    s.add_argument("--objectives", default="error,energy,latency,area",
                   help="any subset of error, energy, latency, area (and the sweep's other "
                        "objectives: " + ", ".join(OBJECTIVE_ALIASES) + ")")
    s.add_argument("--population", type=int, default=100, help="candidates per generation")
    s.add_argument("--generations", type=int, default=100, help="generations of NSGA-II")
    s.add_argument("--seed", type=int, default=0, help="the optimiser's seed")
    s.add_argument("--accuracy", action="append", default=[], metavar="CSV",
                   help="accuracy CSVs of measured runs (policy ids or uniform widths) for the "
                        "final front, beside the project's committed ones")
    s.add_argument("--out", default="runs/search", help="folder for search.csv, front.csv, "
                   "policies.csv, search.json")
    s.add_argument("--resume", action="store_true", help="continue the search in --out")
    s.add_argument("--scheduler", default="local", help="local, dask-local or a Dask "
                   "scheduler address (tcp://host:8786)")
    s.add_argument("--workers", type=int, default=2, help="Dask workers (dask-local)")
    return p


def parse(argv: list[str] | None):
    """(problem, objectives, args) from the command line; UsageError naming the flag."""
    p = build_parser()
    a = p.parse_args(argv)
    hardware = {**{k: v for k, v in GRID_DEFAULTS.items()}, **hardware_values(a)}
    for axis in ARRAY_GENES:
        if axis not in hardware:
            hardware[axis] = [cli.DEFAULTS[axis]]
    if a.quantize_ends:
        raise UsageError("--quantize-ends", "the search keeps WRPN's fp32 ends (the sensitivity "
                                            "runs and the accuracy rows have them)")
    for flag, value, low, high in (("--population", a.population, 4, 100_000),
                                   ("--generations", a.generations, 1, 100_000),
                                   ("--workers", a.workers, 1, 1024),
                                   ("--seed", a.seed, 0, 2 ** 31 - 1)):
        if not low <= value <= high:
            raise UsageError(flag, f"{value}: must be {low}..{high:,}")
    dataset = normalise_dataset(a.dataset)
    networks = build_networks(a.model, None, [a.width], [a.widen.lower()], dataset)
    try:
        model = AccuracyModel.read(a.sensitivity)
    except (ValueError, KeyError) as err:
        raise UsageError("--sensitivity", str(err)) from None
    network = networks[0]
    names = network.layers["layer"].tolist()
    unknown = [layer for layer in model.layers if layer not in names]
    if unknown:
        raise UsageError("--sensitivity", f"its layers ({unknown[0]}, ...) are not "
                                          f"{a.model}'s")
    layer_w = sorted(parse_values("--layer-wbits", a.layer_wbits, "int", allowed=(1, 2, 4, 8, 16)))
    layer_a = sorted(parse_values("--layer-abits", a.layer_abits, "int", allowed=(2, 4, 8, 16)))
    try:
        model.table("w", layer_w)
        model.table("a", layer_a)
    except ValueError as err:
        flag, _, message = str(err).partition(" ")
        raise UsageError(flag, message) from None
    space = SearchSpace(array=hardware, layers=model.layers, layer_wbits=layer_w,
                        layer_abits=layer_a)
    check_configs(_one_row_per_value(hardware))
    table = None
    if a.table is not None:
        from accelsim.cost import load_table
        try:
            table = load_table(a.table)
        except (OSError, ValueError) as err:
            raise UsageError("--table", str(err)) from None
    probe = evaluate_genes(Problem(space, network, model, table), np.zeros((1, len(space.upper)),
                                                                          dtype=np.int64))
    objectives = parse_objectives(a.objectives.replace("error", "accuracy"),
                                  set(probe.columns))
    return Problem(space, network, model, table), objectives, a


def _one_row_per_value(hardware: dict[str, list]) -> pd.DataFrame:
    """Every value of every axis once, the other axes at their first value: ArrayConfig checks
    each field on its own, so these rows validate the whole space without its product."""
    first = {axis: values[0] for axis, values in hardware.items()}
    frame = pd.DataFrame([{**first, axis: value} for axis, values in hardware.items()
                          for value in values])
    for column in SRAM_COLUMNS:
        frame[column] = frame["sram_kb"]
    return frame


def settings_of(problem: Problem, objectives: dict, args) -> dict:
    """What a resumed search must share with the one it continues."""
    space = problem.space
    return {"array": {k: [str(v) for v in vals] for k, vals in space.array.items()},
            "layers": space.layers, "layer_wbits": space.layer_wbits,
            "layer_abits": space.layer_abits, "objectives": objectives,
            "population": args.population, "seed": args.seed,
            "network": [args.model, normalise_dataset(args.dataset), args.width, args.widen],
            "accuracy_model": asdict(problem.accuracy) | {"delta_pct": None,
                                                          "reference_bits": None}}


def main(argv: list[str] | None = None) -> int:
    """``python -m dse.search``; bad input is one line and exit status 2."""
    try:
        problem, objectives, args = parse(argv)
        scheduler = parse_scheduler(args.scheduler)
        out = Path(args.out)
        from .sweep import prepare_out
        settings = settings_of(problem, objectives, args)
        if args.resume and (out / SETTINGS).is_file():
            if json.loads((out / SETTINGS).read_text()) != json.loads(json.dumps(settings)):
                raise UsageError("--resume", f"{out} holds a search with other settings; "
                                             "choose another --out")
        accuracy = results.accuracy_table(args.accuracy)
        prepare_out(str(out))
    except (UsageError, cli.UsageError, ValueError) as err:
        print(f"python -m dse.search: error: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    write_atomic(out / SETTINGS, json.dumps(settings, indent=2) + "\n")
    evaluated = search(problem, objectives, args.population, args.generations, args.seed, out,
                       args.resume, scheduler, args.workers)
    reference = next(iter(problem.accuracy.reference_bits.values()))
    calibration = json.loads((Path(args.sensitivity) / "calibration.json").read_text())
    ranked = final_front(evaluated, objectives, accuracy, calibration.get("quantizer", "wrpn"),
                         reference)
    front = ranked[ranked["pareto_rank"] == 1]
    write_atomic(out / JOURNAL, ranked.to_csv(index=False))
    write_atomic(out / "front.csv", front.to_csv(index=False))
    widths = [np.array([[int(x.split("/")[k]) for x in lw.split()] for lw in front["layer_widths"]])
              for k in (0, 1)]
    policies = policies_of(problem.space.layers, *widths) if len(front) else {}
    buf = out / "policies.csv"
    write_policies(policies, buf)
    seconds = time.perf_counter() - start
    print(f"{len(evaluated):,} candidates evaluated in {seconds:.1f} s; {len(front)} on the front "
          f"over {', '.join(f'{s} {c}' for c, s in objectives.items())}; "
          f"{int((front['measured_runs'] > 0).sum())} of them measured, the rest estimated")
    print(f"wrote {out / JOURNAL}, {out / 'front.csv'}, {buf} ({len(policies)} policies)")
    return 0


__all__ = ["ARRAY_GENES", "AccuracyModel", "Problem", "SearchSpace", "crowded_best",
           "evaluate_genes", "final_front", "main", "policies_of", "policy_id",
           "read_candidates", "search"]

if __name__ == "__main__":
    sys.exit(main())
