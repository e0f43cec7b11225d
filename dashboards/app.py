"""``python -m dashboards.app``: the dashboard in a browser at http://127.0.0.1:8050.

    python -m dashboards.app                         # a default sweep computed at start-up
    python -m dashboards.app --results runs/sweep    # sweep.csv, accuracy.csv, footprint.csv

Four views: accuracy vs compute cost, memory footprint (the paper's Figure 1), a design-space
explorer with a Pareto CSV export, and one layer inside the PE array.  The callbacks here only
pass the controls' values to ``frames`` (tables) and ``figures`` (plotly figures).  Safety: the
server listens on 127.0.0.1 unless ``--host`` says otherwise, Dash's debug mode is off unless
``--debug``, and nothing the browser sends is used as a file path: the results folder is fixed
on the command line and downloads are built in memory.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

import pandas as pd
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from . import figures, frames
from .load import Results, load

TABLE_ROWS = 100
TABLE_COLUMNS = ("point_id", "model", "widen", "teacher", "rows", "cols", "dataflow", "wbits",
                 "abits", "top1_err_pct")
FILTERS = ("model", "widen", "teacher", "rows", "cols", "dataflow", "wbits", "abits")
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
PRECISIONS = ((32, 32), (8, 8), (4, 8), (2, 8), (2, 4), (1, 4))
DEFAULT_LAYER = "stage1.block1.conv1"
GRAPH_CONFIG = {"displaylogo": False}
# Inline styles: an assets/ folder would be one more thing to ship as package data.
ROW_STYLE = {"display": "flex", "flexWrap": "wrap", "gap": "12px 24px", "alignItems": "flex-end",
             "margin": "12px 0"}
CONTROL_STYLE = {"minWidth": "140px"}
TABLE_STYLE = {"borderCollapse": "collapse", "fontSize": "13px", "fontFamily": "monospace"}


# ----------------------------------------------------------------------------- layout helpers

def _control(text: str, component) -> html.Div:
    return html.Div([html.Label(text, style={"display": "block", "fontWeight": "bold"}),
                     component], className="control", style=CONTROL_STYLE)


def _dropdown(id_: str, values: list, value, **kwargs) -> dcc.Dropdown:
    return dcc.Dropdown(id=id_, options=[{"label": str(v), "value": v} for v in values],
                        value=value, clearable=False, **kwargs)


def _checklist(id_: str, values: list) -> dcc.Checklist:
    return dcc.Checklist(id=id_, options=[{"label": str(v), "value": v} for v in values],
                         value=list(values), inline=True)


def _prefer(values: list, *wanted):
    """The first of ``wanted`` found in values, else the first value (None when empty)."""
    for value in wanted:
        if value in values:
            return value
    return values[0] if values else None


def network_choices(sweep: pd.DataFrame) -> dict[str, dict]:
    """The sweep's networks, keyed by a label the page shows and sends back."""
    if sweep.empty:
        return {}
    nets = sweep[list(frames.NETWORK_KEY)].drop_duplicates().sort_values(list(frames.NETWORK_KEY))
    return {f"{r.model} {r.dataset} width {r.width:g} widen {r.widen}":
            dict(model=r.model, dataset=r.dataset, width=float(r.width), widen=r.widen)
            for r in nets.itertuples(index=False)}


def points_table(frame: pd.DataFrame, columns: list[str], caption: str) -> html.Div:
    """The first TABLE_ROWS rows of frame as an HTML table under a caption."""
    columns = [c for c in dict.fromkeys(columns) if c in frame.columns]
    body = frame[columns].head(TABLE_ROWS)
    more = f" (first {TABLE_ROWS} shown)" if len(frame) > TABLE_ROWS else ""

    def cell(value):
        if isinstance(value, float):
            return "" if pd.isna(value) else f"{value:.4g}"
        return str(value)

    return html.Div([
        html.P(f"{caption}: {len(frame):,} points{more}", id="ex-table-caption"),
        html.Table([html.Thead(html.Tr([html.Th(c) for c in columns])),
                    html.Tbody([html.Tr([html.Td(cell(v)) for v in row])
                                for row in body.itertuples(index=False)])],
                   className="points", style=TABLE_STYLE)])


# ----------------------------------------------------------------------------- the app

def create_app(results: Results) -> Dash:
    """The Dash app showing ``results``; serve it with ``app.run`` or ``app.server`` (WSGI)."""
    sweep, table, footprint = results.sweep, results.accuracy, results.footprint
    app = Dash(__name__, title="wrpn-dse", update_title=None, serve_locally=True)
    networks = network_choices(sweep)
    metrics = frames.metric_columns(sweep) if len(sweep) else []
    colours = frames.colour_columns(sweep) if len(sweep) else []
    cost_axes = [c for c in frames.COST_AXES if c in sweep.columns]
    rows_values, cols_values = frames.options(sweep, "rows"), frames.options(sweep, "cols")
    flows = frames.options(sweep, "dataflow")
    measured_bits = footprint[["wbits", "abits"]].drop_duplicates().itertuples(index=False)
    precisions = list(dict.fromkeys(list(PRECISIONS) + [(int(w), int(a))
                                                        for w, a in measured_bits]))

    header = html.Div([
        html.H1("wrpn-dse: low-precision accelerator design space"),
        html.P(results.source, id="source"),
        html.Div([html.P(m, className="message") for m in results.messages], id="messages",
                 role="alert" if results.messages else None),
    ])
    accuracy_tab = dcc.Tab(label="Accuracy vs compute cost", value="accuracy", children=[
        html.Div([
            _control("x axis", dcc.RadioItems(
                id="acc-x", options=[{"label": frames.label(c), "value": c} for c in cost_axes],
                value=_prefer(cost_axes, "compute_cost_mac_bits"))),
            _control("array rows", _dropdown("acc-rows", rows_values, _prefer(rows_values, 8))),
            _control("array columns", _dropdown("acc-cols", cols_values,
                                                _prefer(cols_values, 8))),
            _control("dataflow", _dropdown("acc-dataflow", flows, _prefer(flows, "os"))),
        ], className="controls", style=ROW_STYLE),
        dcc.Graph(id="acc-graph", config=GRAPH_CONFIG, style={"height": "600px"}),
    ])
    footprint_tab = dcc.Tab(label="Memory footprint", value="footprint", children=[
        html.Div([
            _control("phase", dcc.RadioItems(id="fp-phase", options=["training", "inference"],
                                             value="training")),
            _control("batch", _dropdown("fp-batch", list(BATCHES), 32)),
            _control("precision (weights / activations)", dcc.RadioItems(
                id="fp-precision",
                options=[{"label": f"{w}b / {a}b", "value": f"{w}/{a}"} for w, a in precisions],
                value="32/32", inline=True)),
            _control("scale", dcc.Checklist(id="fp-log", options=["log y"], value=["log y"])),
        ], className="controls", style=ROW_STYLE),
        dcc.Graph(id="fp-graph", config=GRAPH_CONFIG, style={"height": "560px"}),
    ])
    explorer_tab = dcc.Tab(label="Design-space explorer", value="explorer", children=[
        html.Div([
            _control("x", _dropdown("ex-x", metrics, _prefer(metrics, "area_mm2"))),
            _control("x is better", dcc.RadioItems(id="ex-x-sense", options=["min", "max"],
                                                   value="min", inline=True)),
            _control("y", _dropdown("ex-y", metrics, _prefer(metrics, "latency_ms"))),
            _control("y is better", dcc.RadioItems(id="ex-y-sense", options=["min", "max"],
                                                   value="min", inline=True)),
            _control("colour", _dropdown("ex-colour", colours, _prefer(colours, "wbits"))),
            _control("axes", dcc.Checklist(id="ex-log", options=["log x", "log y"],
                                           value=["log x", "log y"], inline=True)),
        ], className="controls", style=ROW_STYLE),
        html.Div([_control(column, _checklist(f"ex-{column}", frames.options(sweep, column)))
                  for column in FILTERS], className="controls filters", style=ROW_STYLE),
        dcc.Graph(id="ex-graph", config=GRAPH_CONFIG, style={"height": "600px"}),
        dcc.Store(id="ex-drawn"),
        html.Button("Export Pareto CSV", id="ex-export"),
        dcc.Download(id="ex-download"),
        html.Div(id="ex-table"),
    ])
    array_tab = dcc.Tab(label="Inside the array", value="array", children=[
        html.Div([
            _control("network", _dropdown("arr-network", list(networks),
                                          _prefer(list(networks),
                                                  "resnet56 cifar10 width 1 widen none"),
                                          style={"minWidth": "320px"})),
            _control("layer", dcc.Dropdown(id="arr-layer", clearable=False)),
            _control("rows", _dropdown("arr-rows", rows_values, _prefer(rows_values, 8))),
            _control("columns", _dropdown("arr-cols", cols_values, _prefer(cols_values, 8))),
            _control("dataflow", _dropdown("arr-dataflow", flows, _prefer(flows, "os"))),
            _control("wbits", _dropdown("arr-wbits", frames.options(sweep, "wbits"),
                                        _prefer(frames.options(sweep, "wbits"), 2))),
            _control("abits", _dropdown("arr-abits", frames.options(sweep, "abits"),
                                        _prefer(frames.options(sweep, "abits"), 8))),
        ], className="controls", style=ROW_STYLE),
        html.P("Click a point in the explorer to load its array here. One image (batch 1) on "
               "seeded random operand codes: busy cycles depend on the layer's shape, not its "
               "values.", id="arr-note"),
        dcc.Store(id="arr-drawn"),
        html.Div([dcc.Graph(id="arr-heatmap", config=GRAPH_CONFIG, style={"height": "520px"}),
                  dcc.Graph(id="arr-timeline", config=GRAPH_CONFIG, style={"height": "420px"})]),
    ])
    app.layout = html.Div([header, dcc.Tabs(id="tabs", value="accuracy", children=[
        accuracy_tab, footprint_tab, explorer_tab, array_tab])],
        style={"fontFamily": "sans-serif", "margin": "0 16px"})

    # ------------------------------------------------------------------------- callbacks
    @app.callback(Output("acc-graph", "figure"), Input("acc-x", "value"),
                  Input("acc-rows", "value"), Input("acc-cols", "value"),
                  Input("acc-dataflow", "value"))
    def _accuracy(x, rows, cols, dataflow):
        if x is None or sweep.empty:
            return figures.empty_figure("No sweep to take costs from.")
        points = frames.accuracy_points(table, sweep, rows, cols, dataflow)
        return figures.accuracy_cost_figure(points, x, f"{rows}x{cols} {str(dataflow).upper()}")

    @app.callback(Output("fp-graph", "figure"), Input("fp-phase", "value"),
                  Input("fp-batch", "value"), Input("fp-precision", "value"),
                  Input("fp-log", "value"))
    def _footprint(phase, batch, precision, log_y):
        wbits, abits = (int(v) for v in str(precision).split("/"))
        bars = frames.footprint_bars(footprint, phase, int(batch), wbits, abits)
        return figures.footprint_figure(bars, phase, int(batch), wbits, abits, bool(log_y))

    @app.callback(Output("ex-x-sense", "value"), Input("ex-x", "value"))
    def _x_sense(x):
        return frames.sense(x) if x else no_update

    @app.callback(Output("ex-y-sense", "value"), Input("ex-y", "value"))
    def _y_sense(y):
        return frames.sense(y) if y else no_update

    explorer_inputs = [Input("ex-x", "value"), Input("ex-y", "value"),
                       Input("ex-x-sense", "value"), Input("ex-y-sense", "value")] + \
        [Input(f"ex-{column}", "value") for column in FILTERS]

    def shown_and_front(x, y, x_sense, y_sense, *chosen):
        shown = frames.filter_sweep(sweep, dict(zip(FILTERS, chosen)))
        senses = {x: x_sense, y: y_sense}
        return shown, frames.explorer_front(shown, x, y, senses), senses

    def table_columns(x, y, colour):
        return list(TABLE_COLUMNS) + [x, y] + ([colour] if colour else [])

    @app.callback(Output("ex-graph", "figure"), Output("ex-table", "children"),
                  Output("ex-drawn", "data"), *explorer_inputs, Input("ex-colour", "value"),
                  Input("ex-log", "value"), Input("tabs", "value"), State("ex-drawn", "data"))
    def _explorer(x, y, x_sense, y_sense, *rest):
        *chosen, colour, logs, tab, drawn = rest
        key = _drawn_key("explorer", tab, drawn, x, y, x_sense, y_sense, colour, logs, *chosen)
        if x is None or y is None or sweep.empty:
            return figures.empty_figure("No sweep to explore."), None, key
        shown, front, senses = shown_and_front(x, y, x_sense, y_sense, *chosen)
        logs = logs or []
        return (figures.explorer_figure(shown, front, x, y, colour, senses, "log x" in logs,
                                        "log y" in logs),
                points_table(front, table_columns(x, y, colour), "Pareto front"), key)

    @app.callback(Output("ex-table", "children", allow_duplicate=True),
                  Input("ex-graph", "selectedData"), *[State(i.component_id, i.component_property)
                                                       for i in explorer_inputs],
                  State("ex-colour", "value"), prevent_initial_call=True)
    def _selection(selected, x, y, x_sense, y_sense, *rest):
        *chosen, colour = rest
        ids = frames.event_point_ids(selected)
        if ids:
            picked = sweep[sweep["point_id"].isin(ids)]
            return points_table(picked, table_columns(x, y, colour), "Selected")
        _, front, _ = shown_and_front(x, y, x_sense, y_sense, *chosen)
        return points_table(front, table_columns(x, y, colour), "Pareto front")

    @app.callback(Output("ex-download", "data"), Input("ex-export", "n_clicks"),
                  *[State(i.component_id, i.component_property) for i in explorer_inputs],
                  prevent_initial_call=True)
    def _export(clicks, x, y, x_sense, y_sense, *chosen):
        if not clicks or sweep.empty:
            raise PreventUpdate
        _, front, _ = shown_and_front(x, y, x_sense, y_sense, *chosen)
        # A fixed name, and the text built here: the browser never names a file.
        return dict(content=front.to_csv(index=False), filename="pareto.csv",
                    type="text/csv", base64=False)

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
        net = networks.get(network)
        names = frames.network_layers(**net) if net else []
        return names, (current if current in names else _prefer(names, DEFAULT_LAYER))

    @app.callback(Output("arr-heatmap", "figure"), Output("arr-timeline", "figure"),
                  Output("arr-drawn", "data"),
                  Input("arr-network", "value"), Input("arr-layer", "value"),
                  Input("arr-rows", "value"), Input("arr-cols", "value"),
                  Input("arr-dataflow", "value"), Input("arr-wbits", "value"),
                  Input("arr-abits", "value"), Input("tabs", "value"), State("arr-drawn", "data"))
    def _array(network, layer, rows, cols, dataflow, wbits, abits, tab, drawn):
        key = _drawn_key("array", tab, drawn, network, layer, rows, cols, dataflow, wbits, abits)
        net = networks.get(network)
        if net is None or layer is None:
            blank = figures.empty_figure("Choose a network and a layer.")
            return blank, blank, key
        try:
            run = frames.array_run(net["model"], net["dataset"], net["width"], net["widen"],
                                   layer, int(rows), int(cols), dataflow, int(wbits), int(abits))
        except ValueError as err:
            blank = figures.empty_figure(str(err))
            return blank, blank, key
        return figures.pe_heatmap_figure(run), figures.fold_timeline_figure(run), key

    threading.Thread(target=_warm_up, args=(sweep,), daemon=True).start()
    return app


def _drawn_key(view: str, tab: str, drawn, *values) -> str:
    """The heavy views draw only while their tab is open, and once per set of control values.

    Drawing the explorer's 10k points for a hidden tab would hold up the first page; raises
    PreventUpdate when the view is hidden or already shows these values.
    """
    key = json.dumps(values, default=str)
    if tab != view or (ctx.triggered_id == "tabs" and drawn == key):
        raise PreventUpdate
    return key


def _warm_up(sweep: pd.DataFrame) -> None:
    """Load the compiled code of the Pareto sort and the array kernels before a user needs them.

    Numba loads cached machine code on first call (about 1-2 s here); doing it now, beside the
    first page load, keeps it out of the first control change.
    """
    if len(sweep) and {"energy_per_inference_uj", "latency_ms"} <= set(sweep.columns):
        frames.explorer_front(sweep, "energy_per_inference_uj", "latency_ms", {})
    for dataflow in ("os", "ws", "is"):
        frames.array_run("resnet20", "cifar10", 1.0, "none", "fc", 4, 4, dataflow, 2, 8)


# ----------------------------------------------------------------------------- command line

class UsageError(ValueError):
    """Bad command-line input, reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's hook: one line, no usage dump
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m dashboards.app", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--results", default=None, metavar="DIR",
                   help="folder with sweep.csv (python -m dse.sweep --out DIR), and optionally "
                        "accuracy.csv and footprint.csv; without it a default sweep is computed "
                        "at start-up")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 0.0.0.0 exposes the dashboard to your network")
    p.add_argument("--port", default="8050", help="TCP port, 1..65535")
    p.add_argument("--debug", action="store_true",
                   help="Dash debug mode (reloader, tracebacks in the page): development only")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if not args.port.isdigit() or not 1 <= int(args.port) <= 65535:
        raise UsageError(f"--port: {args.port!r} is not a port; accepts an integer 1..65535")
    args.port = int(args.port)
    if args.results is not None and not Path(args.results).is_dir():
        raise UsageError(f"--results: {args.results!r} is not a folder; accepts a folder "
                         "holding sweep.csv")
    return args


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
    except UsageError as err:
        print(f"dashboards.app: error: {err}", file=sys.stderr)
        return 2
    results = load(args.results)
    for message in results.messages:
        print(f"dashboards.app: {message}", file=sys.stderr)
    app = create_app(results)
    print(f"{results.source}\nserving on http://{args.host}:{args.port}/ (Ctrl+C stops)",
          flush=True)
    try:
        app.run(host=args.host, port=args.port, debug=args.debug)
    except OSError as err:
        print(f"dashboards.app: error: --port {args.port} on {args.host}: {err.strerror or err}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
