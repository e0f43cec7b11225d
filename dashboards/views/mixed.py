"""Mixed precision: the per-layer bit allocations of the searched designs that were trained,
beside the paper's uniform designs, as heat strips (``experiments.mixed_precision``)."""
from __future__ import annotations

from dash import Dash, dcc, html

from .. import figures, frames
from ..load import Results
from .controls import GRAPH_CONFIG


def tab(results: Results) -> dcc.Tab:
    strips = frames.mixed_strips(results.mixed)
    return dcc.Tab(label="Mixed precision", value="mixed", children=[
        html.P("Designs of python -m dse.search on the paper's array, each trained with its "
               "own per-layer widths, against the uniform designs of the paper's grid; rows "
               "sorted by energy per inference.", style={"margin": "12px 0"}),
        dcc.Graph(id="mixed-graph", figure=figures.mixed_precision_figure(strips),
                  config=GRAPH_CONFIG),
    ])


def register(app: Dash, results: Results) -> None:
    """A static view: its figure is drawn once, in the layout."""
