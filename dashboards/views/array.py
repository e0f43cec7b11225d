"""Inside the array: one layer of one design point run clock by clock (accelsim's cycle-level
model).  One fold's wavefront stepping through its clocks (play it, or drag the slider), how
busy each PE is over the layer, where the array's clocks go (MACs, preload, the wavefront's
fill and drain, PEs a partial fold leaves idle), and the fold-by-fold timeline.  A click in
the explorer loads its point here."""
from __future__ import annotations

import pandas as pd
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from .. import figures, frames
from ..load import Results
from .controls import GRAPH_CONFIG, control, drawn_key, dropdown, prefer, refuse_unoffered, row

# The first conv on a weight-stationary array shows all three losses at once: its K = 27 leaves
# a partial fold of 3 rows, each fold preloads, and the wavefront fills and drains.
DEFAULT_LAYER = "conv1"
DEFAULT_DATAFLOW = "ws"
DEFAULT_NETWORK = "resnet56 cifar10 width 1 widen none"


def network_choices(sweep: pd.DataFrame) -> dict[str, dict]:
    """The sweep's networks, keyed by a label the page shows and sends back."""
    if sweep.empty:
        return {}
    nets = sweep[list(frames.NETWORK_KEY)].drop_duplicates().sort_values(list(frames.NETWORK_KEY))
    return {f"{r.model} {r.dataset} width {r.width:g} widen {r.widen}":
            dict(model=r.model, dataset=r.dataset, width=float(r.width), widen=r.widen)
            for r in nets.itertuples(index=False)}


def choices(sweep: pd.DataFrame) -> dict[str, list]:
    """What each control offers, from the loaded sweep: the page shows these, and the
    callbacks simulate nothing else (a hand-made 2000 x 2000 request is refused unrun)."""
    return {"network": list(network_choices(sweep)),
            **{column: frames.options(sweep, column)
               for column in ("rows", "cols", "dataflow", "wbits", "abits")}}


def tab(results: Results) -> dcc.Tab:
    offered = choices(results.sweep)
    networks, rows_values, cols_values = offered["network"], offered["rows"], offered["cols"]
    flows, wbits, abits = offered["dataflow"], offered["wbits"], offered["abits"]
    return dcc.Tab(label="Inside the array", value="array", children=[
        row([
            control("network", dropdown("arr-network", networks,
                                        prefer(networks, DEFAULT_NETWORK),
                                        style={"minWidth": "320px"})),
            control("layer", dcc.Dropdown(id="arr-layer", clearable=False)),
            control(frames.label("rows"), dropdown("arr-rows", rows_values,
                                                   prefer(rows_values, 8))),
            control(frames.label("cols"), dropdown("arr-cols", cols_values,
                                                   prefer(cols_values, 8))),
            control(frames.label("dataflow"), dropdown("arr-dataflow", flows,
                                                       prefer(flows, DEFAULT_DATAFLOW, "os"))),
            control(frames.label("wbits"), dropdown("arr-wbits", wbits, prefer(wbits, 2))),
            control(frames.label("abits"), dropdown("arr-abits", abits, prefer(abits, 8))),
            control("fold to play", dcc.Dropdown(id="arr-fold", clearable=False,
                                                 style={"minWidth": "340px"})),
        ]),
        html.P("Click a point in the explorer to load its array here. One image (batch 1) on "
               "seeded random operand codes: busy cycles depend on the layer's shape, not its "
               "values. Operands enter the array's edges skewed by a clock per row and column, "
               "so a fold's work sweeps across the PEs as a diagonal wavefront; a GEMM that "
               "does not divide into the array leaves partial folds at its edges.",
               id="arr-note"),
        dcc.Store(id="arr-drawn"),
        dcc.Store(id="arr-guard"),
        html.Div([dcc.Graph(id="arr-wavefront", config=GRAPH_CONFIG,
                            style={"height": "600px", "flex": "1 1 560px"}),
                  dcc.Graph(id="arr-heatmap", config=GRAPH_CONFIG,
                            style={"height": "600px", "flex": "1 1 560px"})],
                 style={"display": "flex", "flexWrap": "wrap", "gap": "8px"}),
        dcc.Graph(id="arr-losses", config=GRAPH_CONFIG, style={"height": "230px"}),
        dcc.Graph(id="arr-timeline", config=GRAPH_CONFIG, style={"height": "400px"}),
    ])


def fold_choices(run: frames.ArrayRun) -> tuple[list[dict], int]:
    """The first fold of each tile shape, as dropdown options, and the one to play first: the
    first partial fold when there is one (that is where utilisation is lost)."""
    folds = run.folds.drop_duplicates(["used_rows", "used_cols"])
    options = [{"label": f"fold {int(f.fold) + 1} of {len(run.folds)}: "
                         + ("partial, " if f.partial else "full, ")
                         + f"{int(f.used_rows)}x{int(f.used_cols)} of {run.rows}x{run.cols} PEs",
                "value": int(f.fold)} for f in folds.itertuples(index=False)]
    partial = folds[folds["partial"]]
    return options, int(partial["fold"].iloc[0] if len(partial) else folds["fold"].iloc[0])


def register(app: Dash, results: Results) -> None:
    sweep = results.sweep
    networks = network_choices(sweep)
    offered = choices(sweep)

    @app.callback(Output("arr-network", "value"), Output("arr-rows", "value"),
                  Output("arr-cols", "value"), Output("arr-dataflow", "value"),
                  Output("arr-wbits", "value"), Output("arr-abits", "value"),
                  Input("ex-graph", "clickData"), prevent_initial_call=True)
    def _pick(click):
        ids = frames.event_point_ids(click)
        rows = sweep[sweep["point_id"] == ids[0]] if ids else sweep.iloc[:0]
        if rows.empty:
            raise PreventUpdate
        r = rows.iloc[0]
        key = next((k for k, v in networks.items()
                    if (v["model"], v["dataset"], v["width"], v["widen"])
                    == (r["model"], r["dataset"], float(r["width"]), r["widen"])), no_update)
        return key, int(r["rows"]), int(r["cols"]), r["dataflow"], int(r["wbits"]), \
            int(r["abits"])

    @app.callback(Output("arr-layer", "options"), Output("arr-layer", "value"),
                  Input("arr-network", "value"), State("arr-layer", "value"))
    def _layers(network, current):
        refuse_unoffered((network, offered["network"] + [None]))
        net = networks.get(network)
        names = frames.network_layers(**net) if net else []
        return names, (current if current in names else prefer(names, DEFAULT_LAYER))

    def run_of(network, layer, rows, cols, dataflow, wbits, abits):
        refuse_unoffered(*((value, offered[name] + [None]) for name, value in (
            ("network", network), ("rows", rows), ("cols", cols), ("dataflow", dataflow),
            ("wbits", wbits), ("abits", abits))))
        if not isinstance(layer, (str, type(None))):
            raise PreventUpdate
        net = networks.get(network)
        if net is None or layer is None or None in (rows, cols, dataflow, wbits, abits):
            raise ValueError("Choose a network and a layer.")
        return frames.array_run(net["model"], net["dataset"], net["width"], net["widen"],
                                layer, int(rows), int(cols), dataflow, int(wbits), int(abits))

    controls = ("arr-network", "arr-layer", "arr-rows", "arr-cols", "arr-dataflow", "arr-wbits",
                "arr-abits")

    @app.callback(Output("arr-heatmap", "figure"), Output("arr-losses", "figure"),
                  Output("arr-timeline", "figure"), Output("arr-fold", "options"),
                  Output("arr-fold", "value"), Output("arr-drawn", "data"),
                  *[Input(c, "value") for c in controls], Input("tabs", "value"),
                  State("arr-fold", "value"), State("arr-drawn", "data"))
    def _array(network, layer, rows, cols, dataflow, wbits, abits, tab, fold, drawn):
        key = drawn_key("array", tab, drawn, network, layer, rows, cols, dataflow, wbits, abits)
        try:
            run = run_of(network, layer, rows, cols, dataflow, wbits, abits)
        except ValueError as err:
            blank = figures.empty_figure(str(err))
            return blank, blank, blank, [], None, key
        options, first = fold_choices(run)
        if ctx.triggered_id == "tabs" and fold in [o["value"] for o in options]:
            first = fold  # back on the tab: keep the fold the user chose
        return (figures.pe_heatmap_figure(run),
                figures.losses_figure(frames.utilisation_losses(run), run),
                figures.fold_timeline_figure(run), options, first, key)

    # Pausing (or dragging the slider of) a playing plotly animation rejects the promise of the
    # frames it drops, with no reason given, which the browser reports as an uncaught error: it
    # is expected, so the page marks rejections without a reason handled (plotly's, in this
    # app; anything with a reason is still reported).
    app.clientside_callback(
        """function (figure) {
            if (!window.wrpnAnimationGuard) {
                window.wrpnAnimationGuard = true;
                window.addEventListener("unhandledrejection", function (event) {
                    if (event.reason === undefined) { event.preventDefault(); }
                });
            }
            return true;
        }""", Output("arr-guard", "data"), Input("arr-wavefront", "figure"))

    @app.callback(Output("arr-wavefront", "figure"), Input("arr-fold", "value"),
                  Input("arr-fold", "options"), *[State(c, "value") for c in controls])
    def _wavefront(fold, options, *values):
        try:
            run = run_of(*values)
        except ValueError as err:
            return figures.empty_figure(str(err))
        if not isinstance(fold, int) or isinstance(fold, bool) or not 0 <= fold < len(run.folds):
            raise PreventUpdate
        return figures.wavefront_figure(run, int(fold))
