"""Pareto fronts: non-dominated sorting over any number of objectives, each min or max.

A point dominates another when it is no worse in every objective and better in at least one.
Rank 1 is the non-dominated set (the Pareto front); rank k holds the points that only rank
1..k-1 dominate.  Points with equal objective vectors share a rank.

Both algorithms rest on one fact: after a lexicographic sort no point is dominated by a later
one.  Up to ``NUMPY_MAX_POINTS`` points, a NumPy cull peels the fronts: the first remaining
candidate is non-dominated, and everything it dominates leaves the candidates of this front.
Above that, Efficient Non-dominated Sort with binary search (Zhang et al., IEEE TEVC 2015) runs
compiled with Numba: a point dominated by a member of front k is dominated by a member of every
earlier front, so its front is found by binary search.  The cull costs a pass over the
remaining points per front, which grows fast with sweeps of many fronts; ENS costs a few
comparisons per point, but loading Numba's compiled code takes about 1-2 s once per process
(measured), which the cull beats on small sweeps.  Once a process has loaded it (``load_ens``,
which the dashboard calls at start-up), ENS runs at every size: fronts computed group by group
(``dse.fronts``) are many small sorts, where the cull took 30 ms a group of 1,400 points with
many fronts and ENS about 1 ms (measured).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

SENSES = ("min", "max")
NUMPY_MAX_POINTS = 2_000


@njit(cache=True)
def _dominates(values, a, b):
    """True when row a dominates row b (minimisation)."""
    strictly = False
    for j in range(values.shape[1]):
        if values[a, j] > values[b, j]:
            return False
        if values[a, j] < values[b, j]:
            strictly = True
    return strictly


@njit(cache=True)
def _ens_bs(values):
    """Front index (0-based) of every row of a lexicographically sorted (N, M) array."""
    n = values.shape[0]
    front = np.empty(n, dtype=np.int64)
    # Members of each front as singly linked lists, newest first: recent members are the most
    # likely dominators of the next point in lexicographic order.
    head = np.full(n + 1, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    fronts = 0
    for i in range(n):
        low, high = 0, fronts  # answer in [low, high]; high == fronts means a new front
        while low < high:
            mid = (low + high) // 2
            member = head[mid]
            dominated = False
            while member != -1:
                if _dominates(values, member, i):
                    dominated = True
                    break
                member = nxt[member]
            if dominated:
                low = mid + 1
            else:
                high = mid
        front[i] = low
        nxt[i] = head[low]
        head[low] = i
        if low == fronts:
            fronts += 1
    return front


def _dominance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) bool: a[i] dominates b[j] (minimisation)."""
    return ((a[:, None, :] <= b[None, :, :]).all(axis=2)
            & (a[:, None, :] < b[None, :, :]).any(axis=2))


def _cull_ranks(values: np.ndarray, batch: int = 32) -> np.ndarray:
    """Front index (0-based) of every row of a lexicographically sorted (N, M) array.

    Candidates are taken ``batch`` at a time: the ones no other in the batch dominates are on
    the front (only earlier points can dominate, and those on the front already culled the
    rest); they then cull the remaining candidates in one comparison.
    """
    front = np.empty(len(values), dtype=np.int64)
    remaining = np.arange(len(values))
    rank = 0
    while remaining.size:
        candidates, members = remaining, []
        while candidates.size:
            head, candidates = candidates[:batch], candidates[batch:]
            new = head[~_dominance(values[head], values[head]).any(axis=0)]
            members.append(new)
            if candidates.size:
                candidates = candidates[~_dominance(values[new], values[candidates]).any(axis=0)]
        members = np.concatenate(members)
        front[members] = rank
        remaining = np.setdiff1d(remaining, members, assume_unique=True)
        rank += 1
    return front


def _as_minimise(frame: pd.DataFrame, objectives: dict[str, str]) -> np.ndarray:
    for column, sense in objectives.items():
        if sense not in SENSES:
            raise ValueError(f"objective {column!r}: sense {sense!r} must be min or max")
        if column not in frame.columns:
            raise ValueError(f"objective {column!r} is not a column; columns are "
                             f"{', '.join(map(str, frame.columns))}")
    values = np.column_stack([frame[c].to_numpy(dtype=float) * (-1.0 if s == "max" else 1.0)
                              for c, s in objectives.items()]) if objectives else \
        np.zeros((len(frame), 0))
    if np.isnan(values).any():
        raise ValueError("objectives contain empty values; drop those objectives or points first")
    return values


_ENS_LOADED = False


def load_ens() -> None:
    """Load (or compile) the ENS kernel now, so that every later sort uses it."""
    global _ENS_LOADED
    _ens_bs(np.zeros((1, 1)))
    _ENS_LOADED = True


def pareto_ranks(frame: pd.DataFrame, objectives: dict[str, str]) -> np.ndarray:
    """The rank (1 = non-dominated) of every row, for objectives {column: 'min' | 'max'}."""
    values = _as_minimise(frame, objectives)
    ranks = np.ones(len(frame), dtype=np.int64)
    if len(frame) == 0 or values.shape[1] == 0:
        return ranks
    order = np.lexsort(values.T[::-1])
    ordered = np.ascontiguousarray(values[order])
    if len(frame) > NUMPY_MAX_POINTS and not _ENS_LOADED:
        load_ens()
    sort = _ens_bs if _ENS_LOADED else _cull_ranks
    ranks[order] = sort(ordered) + 1
    return ranks


def pareto_front(frame: pd.DataFrame, objectives: dict[str, str]) -> pd.DataFrame:
    """The non-dominated rows of frame, in their original order."""
    return frame[pareto_ranks(frame, objectives) == 1]


def brute_force_ranks(values: np.ndarray) -> np.ndarray:
    """Reference ranks by repeated O(N^2) peeling of minimisation objectives (tests use it)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    ranks = np.zeros(n, dtype=np.int64)
    left = np.arange(n)
    rank = 0
    while left.size:
        rank += 1
        sub = values[left]
        le = (sub[:, None, :] <= sub[None, :, :]).all(axis=2)
        lt = (sub[:, None, :] < sub[None, :, :]).any(axis=2)
        dominated = (le & lt).any(axis=0)
        ranks[left[~dominated]] = rank
        left = left[dominated]
    return ranks


__all__ = ["SENSES", "brute_force_ranks", "load_ens", "pareto_front", "pareto_ranks"]
