"""Accuracy of trained networks, joined onto design points.

Rows come from accuracy CSVs in DESIGN.md's format
(``model,dataset,wbits,abits,widen,width,teacher,scheme,epochs,seed,top1_err,source``).
``paper_accuracy.csv`` beside this module ships the paper's Tables 1-4 (CIFAR-10 ResNet-44/56
top-1 error in %, source ``paper:TableN``): Table 1 baseline, Table 2 WRPN (first 30% of the
layers widened), Table 3 Apprentice (teacher ResNet-101), Table 4 WRPN + Apprentice.
``training`` appends ``measured`` rows to its own CSV; they join the same way.

The join key is (model, dataset, wbits, abits, widen, width, teacher, policy; the policy is a
per-layer width assignment's id, empty for uniform widths).  Measured rows win over
published ones (their mean over seeds); a point with no matching row gets an empty accuracy,
never an estimate.  Rows of different activation quantizers (``quantizer``: ``wrpn``, the
paper's fixed clip, or ``pact``) are never averaged together: where several were measured for
one key, the point takes the quantizer with the lowest mean error (the best accuracy known at
those widths) and says which in ``quantizer`` and ``accuracy_source``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from accelsim.formats import (ACCURACY_COLUMNS, ACCURACY_DEFAULTS, ALLOWED_BITS,
                              ALLOWED_BITS_TEXT, normalise_dataset)

JOIN_KEY = ("model", "dataset", "wbits", "abits", "widen", "width", "teacher", "policy")
PAPER_CSV = Path(__file__).with_name("paper_accuracy.csv")
# The rows this project measured itself (``python -m experiments.reproduce --preset quick``),
# committed at the top of the repository: present in a checkout and its editable install.
MEASURED_CSV = Path(__file__).resolve().parents[1] / "data" / "accuracy_measured.csv"
# Output columns a join adds to a point.
RESULT_COLUMNS = ("top1_err_pct", "accuracy_source", "scheme", "quantizer")


def normalise_teacher(value) -> str:
    """No teacher ('', 'none', NaN) -> 'none'; a name is lower-cased."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "none"
    text = str(value).strip().lower()
    return "none" if text in ("", "none", "nan") else text


def read_accuracy(path: str | os.PathLike) -> pd.DataFrame:
    """Read one accuracy CSV; raises ValueError naming the file and what is wrong."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"accuracy CSV {str(path)!r}: cannot be read ({err})") from None
    for column, default in ACCURACY_DEFAULTS.items():
        if column not in frame.columns:
            frame[column] = default
    missing = [c for c in ACCURACY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"accuracy CSV {str(path)!r}: missing columns {', '.join(missing)}; "
                         f"the header is {','.join(ACCURACY_COLUMNS)}")
    out = pd.DataFrame({c: frame[c].str.strip() for c in ACCURACY_COLUMNS})
    for column in ("wbits", "abits", "width", "top1_err"):
        numbers = pd.to_numeric(out[column], errors="coerce")
        bad = numbers.isna()
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ValueError(f"accuracy CSV {str(path)!r} line {line}: {column}="
                             f"{out[column][bad].iloc[0]!r} is not a number")
        out[column] = numbers
    _check_ranges(path, out)
    out["wbits"] = out["wbits"].astype(np.int64)
    out["abits"] = out["abits"].astype(np.int64)
    out["width"] = out["width"].astype(float)
    out["model"] = out["model"].str.lower()
    out["dataset"] = out["dataset"].map(normalise_dataset)
    out["widen"] = out["widen"].str.lower().replace("", "none")
    out["teacher"] = out["teacher"].map(normalise_teacher)
    out["quantizer"] = out["quantizer"].str.lower().replace("", ACCURACY_DEFAULTS["quantizer"])
    return out


def _check_ranges(path: Path, out: pd.DataFrame) -> None:
    """Widths are allowed widths (2.7 would truncate to 2), width a finite multiplier > 0, the
    error a percentage: a row outside them is a ValueError naming its line."""
    rules = (("wbits", lambda v: v.isin(ALLOWED_BITS), f"an allowed width ({ALLOWED_BITS_TEXT})"),
             ("abits", lambda v: v.isin(ALLOWED_BITS), f"an allowed width ({ALLOWED_BITS_TEXT})"),
             ("width", lambda v: np.isfinite(v) & (v > 0), "a filter multiplier > 0"),
             ("top1_err", lambda v: (v >= 0) & (v <= 100), "a top-1 error in % (0..100)"))
    for column, good, what in rules:
        bad = ~good(out[column]).to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(f"accuracy CSV {str(path)!r} line {first + 2}: {column}="
                             f"{out[column].iloc[first]!r} is not {what}")


def paper_accuracy() -> pd.DataFrame:
    """The paper's Tables 1-4 as accuracy rows (``source`` = ``paper:TableN``)."""
    return read_accuracy(PAPER_CSV)


def shipped_accuracy() -> pd.DataFrame:
    """The paper's rows, plus the project's committed measured rows where the file is present."""
    frames = [paper_accuracy()]
    if MEASURED_CSV.is_file():
        frames.append(read_accuracy(MEASURED_CSV))
    return pd.concat(frames, ignore_index=True)


def accuracy_table(extra_paths=()) -> pd.DataFrame:
    """The shipped rows plus every row of the given CSVs (e.g. training's measured results)."""
    frames = [shipped_accuracy()] + [read_accuracy(p) for p in extra_paths]
    return pd.concat(frames, ignore_index=True)


def summarise_runs(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Accuracy rows grouped by ``by``: mean error, run count, seed sd, sources and schemes."""
    grouped = table.groupby(by, sort=True, dropna=False)
    summary = grouped.agg(top1_err_pct=("top1_err", "mean"), runs=("top1_err", "size"),
                          top1_err_std=("top1_err", "std"),
                          source=("source", lambda s: "+".join(dict.fromkeys(s))),
                          scheme=("scheme", lambda s: "+".join(dict.fromkeys(x for x in s if x))))
    return summary.reset_index()


def best_known(table: pd.DataFrame) -> pd.DataFrame:
    """One row per join key: the mean of measured rows if any, else the published row; of
    several quantizers, the one with the lowest mean error."""
    table = table.assign(measured=table["source"].str.lower().eq("measured"))
    keep = table.groupby(list(JOIN_KEY))["measured"].transform("max") == table["measured"]
    summary = summarise_runs(table[keep], list(JOIN_KEY) + ["quantizer", "measured"]).rename(
        columns={"source": "sources"})
    summary = summary.sort_values("top1_err_pct", kind="stable").drop_duplicates(list(JOIN_KEY))
    summary["accuracy_source"] = np.where(
        summary["measured"], "measured " + summary["quantizer"] + " ("
        + summary["runs"].astype(str) + " runs)", summary["sources"])
    return summary.sort_values(list(JOIN_KEY)).reset_index(drop=True)[
        list(JOIN_KEY) + list(RESULT_COLUMNS)]


def join_accuracy(points: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Points with ``top1_err_pct``, ``accuracy_source`` and ``scheme`` added (empty if unknown)."""
    known = best_known(shipped_accuracy() if table is None else table)
    key = points.reindex(columns=list(JOIN_KEY)).copy()
    # Points without a policy column are the uniform widths of their row.
    key["policy"] = key["policy"].astype(object).where(key["policy"].notna(), "").astype(str)
    key["teacher"] = key["teacher"].map(normalise_teacher)
    key["widen"] = key["widen"].astype(str).str.lower()
    key["dataset"] = key["dataset"].map({d: normalise_dataset(d) for d in key["dataset"].unique()})
    merged = key.merge(known, on=list(JOIN_KEY), how="left", validate="many_to_one")
    if "ends" in points.columns:
        # Every accuracy row (the paper's, and training's unless it quantized the ends) is of a
        # network with an fp32 first conv and FC: none describes a point with quantized ends.
        merged.loc[(points["ends"] == "quantized").to_numpy()] = np.nan
    out = points.copy()
    out["top1_err_pct"] = merged["top1_err_pct"].to_numpy(dtype=float)
    out["accuracy_source"] = merged["accuracy_source"].fillna("").to_numpy(dtype=object)
    out["scheme"] = merged["scheme"].fillna("").to_numpy(dtype=object)
    out["quantizer"] = merged["quantizer"].fillna("").to_numpy(dtype=object)
    return out


__all__ = ["JOIN_KEY", "MEASURED_CSV", "PAPER_CSV", "accuracy_table",
           "best_known", "join_accuracy", "normalise_teacher", "paper_accuracy", "read_accuracy",
           "shipped_accuracy", "summarise_runs"]
