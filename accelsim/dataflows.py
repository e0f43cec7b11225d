"""The dataflows, one record each: how a GEMM (M x K) @ (K x N) maps onto the array.

A dataflow is three letters: the GEMM dimension laid down the array's rows (Sr), the one
across its columns (Sc), and the one streamed through in time (T) (SCALE-Sim's mapping,
DESIGN.md).  Everything else the simulator needs follows from them, so nothing outside this
module asks which dataflow it is:

- the operand spanning (Sr, Sc) is *held* in the PEs for a whole fold: the outputs for
  output-stationary, the weights for weight-stationary, the inputs for input-stationary; when
  it is an input, every fold first preloads it (``rows`` clocks, shifted down the columns);
- the operand spanning (Sr, T) enters from the left edge (the *row* operand);
- the operand spanning (Sc, T) enters from the top edge, or, when the outputs are not held,
  is the output: partial sums flowing down the columns (the *column* operand).

Folds: ceil(Sr / rows) along the rows (``x``) times ceil(Sc / cols) along the columns (``y``);
a fold lasts T + rows + cols - 2 clocks, plus ``rows`` when it preloads.  The row operand is
read once per column fold, the column operand once per row fold, the held one once.

A record whose outputs would enter from the left has no kernel (``accelsim.kernels`` moves
partial sums down the columns only), so it is refused when defined.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIMS = ("M", "N", "K")
# The dimensions each operand spans, in its natural (row, column) order.
OPERANDS = {"ifmap": ("M", "K"), "filter": ("K", "N"), "ofmap": ("M", "N")}
# An operand's role in a dataflow, as a code for vectorised lookups.
ROLE_ROW, ROLE_COL, ROLE_HELD = 0, 1, 2


@dataclass(frozen=True)
class Dataflow:
    """One dataflow: its name, the mapping (Sr, Sc, T) and a line for people."""

    name: str
    spatial_rows: str
    spatial_cols: str
    temporal: str
    description: str

    def __post_init__(self) -> None:
        mapping = (self.spatial_rows, self.spatial_cols, self.temporal)
        if sorted(mapping) != sorted(DIMS):
            raise ValueError(f"dataflow {self.name!r}: (Sr, Sc, T) = {mapping} must be M, N, K "
                             "in some order")
        if self.role("ofmap") == ROLE_ROW:
            raise ValueError(f"dataflow {self.name!r}: outputs would enter from the left edge; "
                             "the kernels move partial sums down the columns only")

    def operand_with(self, dims: set[str]) -> str:
        return next(name for name, spans in OPERANDS.items() if set(spans) == dims)

    @property
    def held(self) -> str:
        """The operand that stays in the PEs during a fold (ifmap, filter or ofmap)."""
        return self.operand_with({self.spatial_rows, self.spatial_cols})

    @property
    def row_operand(self) -> str:
        return self.operand_with({self.spatial_rows, self.temporal})

    @property
    def col_operand(self) -> str:
        return self.operand_with({self.spatial_cols, self.temporal})

    @property
    def preloads(self) -> bool:
        """Whether each fold first shifts its held tile in (an input is held)."""
        return self.held != "ofmap"

    def role(self, operand: str) -> int:
        """ROLE_ROW, ROLE_COL or ROLE_HELD of an operand."""
        return {self.row_operand: ROLE_ROW, self.col_operand: ROLE_COL,
                self.held: ROLE_HELD}[operand]

    def arrange(self, matrix: np.ndarray, operand: str, dims: tuple[str, str]) -> np.ndarray:
        """An operand's matrix (in its natural order) laid out as ``dims`` (a transpose or not)."""
        return matrix if OPERANDS[operand] == tuple(dims) else np.ascontiguousarray(matrix.T)

    def mapped(self, m, n, k):
        """(Sr, Sc, T) of a GEMM."""
        size = {"M": m, "N": n, "K": k}
        return size[self.spatial_rows], size[self.spatial_cols], size[self.temporal]


# The registry: SCALE-Sim's three dataflows.  A record's position is its code in frames.
REGISTRY: tuple[Dataflow, ...] = (
    Dataflow("os", "M", "N", "K", "output-stationary: each PE accumulates one output; "
                                  "activations stream from the left, weights from the top"),
    Dataflow("ws", "K", "N", "M", "weight-stationary: a K x N weight tile is preloaded; "
                                  "activations stream from the left, partial sums flow down"),
    Dataflow("is", "K", "M", "N", "input-stationary: a K x M tile of activations is preloaded; "
                                  "weights stream from the left, partial sums flow down"),
)
NAMES = tuple(flow.name for flow in REGISTRY)
NAMES_TEXT = ", ".join(NAMES)
CODES = {flow.name: code for code, flow in enumerate(REGISTRY)}


def get(name: str) -> Dataflow:
    """The record of a dataflow name; ValueError naming the allowed ones otherwise."""
    if name not in CODES:
        raise ValueError(f"dataflow={name!r}: allowed values are {NAMES_TEXT}")
    return REGISTRY[CODES[name]]


def codes_of(dataflow) -> np.ndarray:
    """Codes of a name, of names (an array, list or pandas column), or codes already."""
    if isinstance(dataflow, str):
        return np.asarray(CODES[get(dataflow).name])
    if getattr(getattr(dataflow, "dtype", None), "kind", "O") in "iu":
        return np.asarray(dataflow)
    import pandas as pd  # factorize reads a categorical column's codes without its strings

    inverse, names = pd.factorize(np.asarray(dataflow).ravel() if not hasattr(dataflow, "cat")
                                  else dataflow)
    table = np.array([CODES[get(str(name)).name] for name in names], dtype=np.int64)
    return table[inverse].reshape(np.shape(dataflow))


def lookup(codes: np.ndarray, field) -> np.ndarray:
    """``field(record)`` for each code: one small table, indexed by the codes."""
    return np.array([field(flow) for flow in REGISTRY])[codes]


def mapped_arrays(m, n, k, codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Sr, Sc, T) elementwise over GEMMs and dataflow codes."""
    sizes = (m, n, k)
    pick = [lookup(codes, lambda f, d=d: DIMS.index(getattr(f, d)))
            for d in ("spatial_rows", "spatial_cols", "temporal")]
    return tuple(np.choose(index, sizes) for index in pick)


def roles(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Each operand's role code (ROLE_ROW / ROLE_COL / ROLE_HELD) elementwise over codes."""
    return {operand: lookup(codes, lambda f, o=operand: f.role(o)) for operand in OPERANDS}
