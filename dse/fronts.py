"""Pareto fronts that compare like with like: which points a front ranks, and what it reports.

A front ranks design points that answer one question.  With accuracy (``top1_err_pct``) among
the objectives, networks may compete, since accuracy prices what a smaller network saves, but
data sets never mix: the group is the data set.  Without accuracy the smallest network would
win every cost, so the group is the workload (network, data set, width, widening).  Each group
gets its own front; ``pareto_group`` names it, ``pareto_objectives`` the objectives and their
directions, ``pareto_filters`` which points were eligible, ``pareto_rank`` the rank within it.

An objective can be unknown for some points (accuracy, where no table row matches).  Within a
data set, points with every objective that any of its points has are ranked on all of them;
the others are left out (empty ``pareto_rank``) and the notes say how many and why.  A data set
where no point has an objective is ranked without it, and the notes say that too.

Points of one group whose objective values are all equal are one design as far as the front
can tell (the teacher changes accuracy, not hardware): ``collapse_equal`` keeps the first and
lists the rest in ``point_ids`` and what differs in ``variants``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .pareto import pareto_ranks
from .results import JOIN_KEY
from .space import HARDWARE_COLUMNS, NETWORK_COLUMNS

ACCURACY = "top1_err_pct"
OVERFLOW = "overflow_possible"
WORKLOAD = ("model", "dataset", "width", "widen")
RANK_COLUMNS = ("pareto_group", "pareto_objectives", "pareto_filters", "pareto_rank")
COLLAPSE_COLUMNS = ("equal_points", "point_ids", "variants")
ALL_POINTS = "all points"
EXAMPLES = 3  # missing keys a note quotes
# What a collapsed row lists where its points differ: their configuration and accuracy.
VARIANT_COLUMNS = NETWORK_COLUMNS + HARDWARE_COLUMNS + ("top1_err_pct", "quantizer")


@dataclass(frozen=True)
class Ranked:
    """Points with RANK_COLUMNS, and what a user must be told about how they were ranked."""

    frame: pd.DataFrame
    notes: tuple[str, ...]

    @cached_property  # pareto.csv, the summary and the dashboard's table all read it
    def front(self) -> pd.DataFrame:
        """The rank-1 points of every group, equal ones collapsed (``collapse_equal``)."""
        return collapse_equal(self.frame[self.frame["pareto_rank"] == 1])

    def groups(self) -> pd.DataFrame:
        """One row per group: its label, objectives, points ranked, left out, on the front."""
        frame = self.frame
        summary = frame.groupby("pareto_group", sort=False).agg(
            objectives=("pareto_objectives", "first"), points=("pareto_group", "size"),
            ranked=("pareto_rank", "count"),
            on_front=("pareto_rank", lambda r: int((r == 1).sum())))
        return summary.reset_index()


def objectives_text(objectives: dict[str, str]) -> str:
    """{'top1_err_pct': 'min'} -> 'min:top1_err_pct' (the files' notation, space-separated)."""
    return " ".join(f"{sense}:{column}" for column, sense in objectives.items())


def parse_objectives_text(text: str) -> dict[str, str]:
    """The inverse of ``objectives_text``."""
    pairs = (token.split(":", 1) for token in str(text).split())
    return {column: sense for sense, column in pairs}


def group_columns(objectives) -> tuple[str, ...]:
    """What a front compares within: the data set with accuracy, else the workload."""
    return ("dataset",) if ACCURACY in objectives else WORKLOAD


def value_text(value) -> str:
    """A value as the notes and labels print it: numbers to 4 digits, NaN and None as -."""
    if value is None:
        return "-"
    if isinstance(value, (float, np.floating)):
        return "-" if np.isnan(value) else f"{value:.4g}"
    return str(value)


def group_label(columns, values) -> str:
    """``dataset=cifar10`` or ``model=resnet20 dataset=cifar10 width=1 widen=none``."""
    values = values if isinstance(values, tuple) else (values,)
    return " ".join(f"{c}={value_text(v)}" for c, v in zip(columns, values))


def rank_fronts(frame: pd.DataFrame, objectives: dict[str, str],
                filters: str = ALL_POINTS, rank_overflowing: bool = False) -> Ranked:
    """Rank every point within its group (module docstring); ``objectives``: {column: sense}.

    ``filters`` says which points ``frame`` holds (the dashboard's filters); it is recorded in
    ``pareto_filters`` with any rule that left points out.  Points whose accumulators can
    overflow (``overflow_possible``) are left out unless ``rank_overflowing``: their figures
    are of a design that may not compute the network's result.
    """
    n = len(frame)
    safe = np.ones(n, dtype=bool)
    if OVERFLOW in frame.columns and not rank_overflowing:
        safe = ~frame[OVERFLOW].fillna(False).astype(bool).to_numpy()
    ranks = np.zeros(n, dtype=np.int64)  # 0: left out
    labels = np.full(n, "", dtype=object)
    used_text = np.full(n, "", dtype=object)
    filter_text = np.full(n, filters, dtype=object)
    notes: list[str] = []
    datasets = (frame.groupby("dataset", sort=False, dropna=False).indices
                if "dataset" in frame.columns and n else {"": np.arange(n)})
    for dataset, rows in datasets.items():
        part = frame.iloc[rows]
        where = f"{dataset}: " if len(datasets) > 1 else ""
        used = {c: s for c, s in objectives.items() if part[c].notna().any()}
        dropped = [c for c in objectives if c not in used]
        if dropped:
            notes.append(f"{where}{_names(dropped)} unknown for all {len(part):,} points; their "
                         f"fronts rank {_names(used) or 'no objective'} only")
        known = part[list(used)].notna().all(axis=1).to_numpy()
        rules = []
        if not known.all():
            missing = [c for c in used if part[c].isna().any()]
            notes.append(f"{where}{int((~known).sum()):,} of {len(part):,} points left out of "
                         f"the fronts: {_why(part[~known], missing)}")
            rules.append(f"{' and '.join(missing)} known")
        if not safe[rows].all():
            notes.append(f"{where}{int((~safe[rows]).sum()):,} of {len(part):,} points left out "
                         "of the fronts: their accumulators can overflow (overflow_possible: "
                         "K x largest activation x largest |weight| beyond acc_bits; "
                         "--rank-overflowing ranks them)")
            rules.append("no overflow possible")
            known = known & safe[rows]
        if rules:
            filter_text[rows] = "; ".join([filters] + rules)
        used_text[rows] = objectives_text(used)
        columns = [c for c in group_columns(used) if c in part.columns]
        if not columns:  # a hand-made table without network columns: one group
            part, columns = part.assign(dataset=dataset), ["dataset"]
        for key, members in part.groupby(columns, sort=False, dropna=False).indices.items():
            labels[rows[members]] = group_label(columns, key)
            members = members[known[members]]
            if len(members):
                ranks[rows[members]] = pareto_ranks(part.iloc[members], used)
    out = frame.assign(pareto_group=labels, pareto_objectives=used_text,
                       pareto_filters=filter_text,
                       pareto_rank=pd.array(np.where(ranks > 0, ranks, None), dtype="Int64"))
    return Ranked(out, tuple(notes))


def _names(columns) -> str:
    return ", ".join("accuracy" if c == ACCURACY else c for c in columns)


def _why(missing: pd.DataFrame, columns: list[str]) -> str:
    """Why points lack an objective, with a few of their networks as examples."""
    if columns != [ACCURACY]:
        return f"no value of {_names(columns)}"
    keys = missing[[c for c in JOIN_KEY if c in missing.columns]].drop_duplicates()
    quoted = "; ".join(network_text(row) for _, row in keys.head(EXAMPLES).iterrows())
    more = f" and {len(keys) - EXAMPLES} more" if len(keys) > EXAMPLES else ""
    return f"no accuracy row matches their network, widths and teacher, e.g. {quoted}{more}"


def network_text(row) -> str:
    """A point's accuracy key as a person reads it: ``resnet20 cifar10 width 1 widen none
    W2/A8 teacher none``."""
    get = row.get if hasattr(row, "get") else lambda c, d=None: getattr(row, c, d)
    parts = [str(get("model", "")), str(get("dataset", ""))]
    if get("width") is not None:
        parts.append(f"width {value_text(get('width'))}")
    if get("widen") is not None:
        parts.append(f"widen {get('widen')}")
    if get("wbits") is not None and get("abits") is not None:
        parts.append(f"W{value_text(get('wbits'))}/A{value_text(get('abits'))}")
    if get("teacher") is not None:
        parts.append(f"teacher {get('teacher')}")
    return " ".join(p for p in parts if p)


def collapse_equal(front: pd.DataFrame) -> pd.DataFrame:
    """One row per group and distinct objective values: the first point (lowest id), with
    ``equal_points`` (how many share them), ``point_ids`` (theirs) and ``variants`` (the
    columns in which they differ, e.g. ``teacher: none, resnet101``)."""
    if front.empty:
        return front.assign(equal_points=pd.Series(dtype=np.int64), point_ids="", variants="")
    front = front.sort_values("point_id", kind="stable")
    pieces = []
    for text, part in front.groupby("pareto_objectives", sort=False):
        key = ["pareto_group"] + list(parse_objectives_text(text))
        group = part.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
        first = ~pd.Series(group).duplicated().to_numpy()
        counts = np.bincount(group)
        keep = part[first].copy()  # ngroup numbers groups in order of first appearance
        keep["equal_points"] = counts
        ids = part["point_id"].astype(str).groupby(group).agg(" ".join)
        keep["point_ids"] = ids.to_numpy()
        keep["variants"] = _variants(part, group, counts, key)
        pieces.append(keep)
    return pd.concat(pieces).sort_values("point_id", kind="stable")


def _variants(part: pd.DataFrame, group: np.ndarray, counts: np.ndarray, key) -> list[str]:
    """For each group, 'column: v1, v2; ...' over the configuration columns whose values differ
    in it (what follows from them, such as an accuracy's source, is in sweep.csv)."""
    texts = [""] * len(counts)
    shared = [c for c in VARIANT_COLUMNS if c in part.columns and c not in key]
    multi = np.flatnonzero(counts > 1)
    if not len(multi):
        return texts
    keep = np.isin(group, multi)
    # Plain lists per column: selecting rows of the whole frame once per group cost ~100 ms
    # for a front of 80 rows (measured), most of an explorer control change.
    values = {c: part[c].to_numpy()[keep].tolist() for c in shared}
    members = pd.Series(np.arange(int(keep.sum()))).groupby(group[keep]).indices
    for g, positions in members.items():
        parts = []
        for column in shared:
            # NaN != NaN: as None, every empty value is one value
            distinct = list(dict.fromkeys(None if pd.isna(values[column][i])
                                          else values[column][i] for i in positions))
            if len(distinct) > 1:
                parts.append(f"{column}: " + ", ".join(value_text(v) for v in distinct))
        texts[g] = "; ".join(parts)
    return texts


__all__ = ["ACCURACY", "COLLAPSE_COLUMNS", "RANK_COLUMNS", "Ranked", "WORKLOAD",
           "collapse_equal", "group_columns", "group_label", "network_text", "objectives_text",
           "parse_objectives_text", "rank_fronts", "value_text"]
