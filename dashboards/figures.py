"""The dashboard's figures: pure functions from the tables in ``frames`` to plotly Figures.

No Dash here, no global state: each function can be called and checked without a browser.
Every point trace carries the design point's ``point_id`` (or the accuracy row's key) in
``customdata`` so that selections in the page map back to rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .frames import COST_AXES, ArrayRun, front_mask, label

SERIES_STYLE = {"paper": dict(symbol="circle", edge="white"),
                "measured": dict(symbol="diamond", edge="black")}
FRONT_STYLE = dict(color="#2ca02c", width=2)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
MAX_TIMELINE_BARS = 512
# The explorer's cloud of points is drawn with WebGL: 11k SVG markers took about 4 s to draw in
# headless Chromium on this 2-core machine, WebGL well under one.  The Pareto front stays SVG.
POINTS = go.Scattergl
# A small template of our own: copying and validating plotly's full "plotly_white" took about
# 80 ms of every figure (measured), a third of the explorer's answer to a control change.
TEMPLATE = dict(layout=dict(
    colorway=list(PALETTE), paper_bgcolor="white", plot_bgcolor="white",
    font=dict(color="#2a3f5f"), hovermode="closest",
    xaxis=dict(gridcolor="#ebf0f8", linecolor="#ebf0f8", zerolinecolor="#ebf0f8",
               automargin=True),
    yaxis=dict(gridcolor="#ebf0f8", linecolor="#ebf0f8", zerolinecolor="#ebf0f8",
               automargin=True)))
BASE_LAYOUT = dict(template=TEMPLATE, margin=dict(l=70, r=20, t=60, b=60),
                   legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))


def empty_figure(message: str) -> go.Figure:
    """A blank figure that says why there is nothing to draw."""
    fig = go.Figure(layout=BASE_LAYOUT)
    fig.update_layout(xaxis_visible=False, yaxis_visible=False, annotations=[dict(
        text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
        font=dict(size=14))])
    return fig


def _ids(frame: pd.DataFrame) -> np.ndarray:
    """point_ids for customdata.  Kept a NumPy array (sent base64-packed): as a list, plotly's
    per-element validation and copying doubled the explorer's server time at 10k points.  Dash
    leaves packed customdata out of clickData / selectedData, so every point's text starts with
    ``#<point_id>`` too (``frames.event_point_ids`` reads either)."""
    return frame["point_id"].to_numpy()


def _bits(frame: pd.DataFrame) -> pd.Series:
    return ("W" + frame["wbits"].astype(int).astype(str) + "/A"
            + frame["abits"].astype(int).astype(str))


# ----------------------------------------------------------------------------- accuracy vs cost

def accuracy_cost_figure(points: pd.DataFrame, x: str, array: str = "") -> go.Figure:
    """Top-1 error against a cost: one series per source, and their joint Pareto front.

    ``points``: ``frames.accuracy_points``.  Rows without a value of ``x`` are left out and
    counted in the title.
    """
    drawn = points[points[x].notna()] if x in points.columns else points.iloc[:0]
    missing = len(points) - len(drawn)
    if drawn.empty:
        return empty_figure(f"No accuracy row has a {label(x)} in this sweep: it holds none of "
                            "the tables' networks on this array.")
    hover = (drawn["model"] + " " + drawn["dataset"] + ", widen " + drawn["widen"]
             + ", width " + drawn["width"].map("{:g}".format) + "<br>" + _bits(drawn)
             + ", teacher " + drawn["teacher"] + " (" + drawn["scheme"] + ")<br>top-1 error "
             + drawn["top1_err_pct"].map("{:.2f}".format) + " %"
             + np.where(drawn["runs"] > 1, " (mean of " + drawn["runs"].astype(str) + " runs)", "")
             + "<br>source " + drawn["source"])
    for column in ("compute_cost_mac_bits", "energy_per_inference_uj", "area_mm2"):
        if column in drawn.columns:
            hover = hover + "<br>" + label(column) + ": " + drawn[column].map("{:.4g}".format)
    fig = go.Figure(layout=BASE_LAYOUT)
    # A trace per source and training scheme: symbol tells paper from measured, colour the scheme.
    schemes = list(dict.fromkeys(drawn["scheme"].sort_values()))
    for series, style in SERIES_STYLE.items():
        for i, scheme in enumerate(schemes):
            rows = (drawn["series"] == series) & (drawn["scheme"] == scheme)
            if rows.any():
                fig.add_trace(go.Scatter(
                    x=drawn.loc[rows, x], y=drawn.loc[rows, "top1_err_pct"], mode="markers",
                    name=f"{series}: {scheme or 'unnamed'} ({int(rows.sum())})",
                    legendgroup=series, hovertext=hover[rows], hoverinfo="text",
                    marker=dict(size=11 if series == "measured" else 9, symbol=style["symbol"],
                                color=PALETTE[i % len(PALETTE)],
                                line=dict(width=1, color=style["edge"]))))
    front = drawn[front_mask(drawn, {x: "min", "top1_err_pct": "min"})].sort_values(x)
    fig.add_trace(go.Scatter(x=front[x], y=front["top1_err_pct"], mode="lines",
                             name="Pareto front", line=dict(shape="hv", **FRONT_STYLE),
                             hoverinfo="skip"))
    # The paper's compute cost depends on the network only; energy and area on the array too.
    title = f"Top-1 error vs {label(x)}" + (f" on {array}" if array and x != COST_AXES[0] else "")
    if missing:
        title += f"<br><sup>{missing} accuracy rows have no design point in this sweep</sup>"
    fig.update_layout(title=title, xaxis_title=label(x), yaxis_title=label("top1_err_pct"),
                      xaxis_type="log" if x == COST_AXES[0] else "linear")
    return fig


# ----------------------------------------------------------------------------- footprint

def footprint_figure(bars: pd.DataFrame, phase: str, batch: int, wbits: int, abits: int,
                     log_y: bool = True) -> go.Figure:
    """The paper's Figure 1: weights vs activations per network, grouped bars."""
    fig = go.Figure(layout=BASE_LAYOUT)
    for column, name, colour in (("weights_mib", "weights", "#1f77b4"),
                                 ("activations_mib", "activations", "#ff7f0e")):
        fig.add_trace(go.Bar(x=bars["model"], y=bars[column], name=name, marker_color=colour,
                             hovertemplate="%{x}<br>" + name + ": %{y:.3g} MiB<extra></extra>"))
    fig.update_layout(
        barmode="group", yaxis_type="log" if log_y else "linear", yaxis_title="memory (MiB)",
        title=f"Memory footprint, {phase}, batch {batch}, {wbits}-bit weights / {abits}-bit "
              "activations (paper Figure 1)")
    return fig


# ----------------------------------------------------------------------------- explorer

def explorer_figure(shown: pd.DataFrame, front: pd.DataFrame, x: str, y: str,
                    colour: str | None, senses: dict[str, str], log_x: bool = False,
                    log_y: bool = False) -> go.Figure:
    """Every shown design point, coloured by a column, with the Pareto front highlighted.

    ``front``: ``frames.explorer_front`` of ``shown``; ``senses``: min or max for x and y.
    """
    if shown.empty:
        return empty_figure("No design point matches the filters.")
    fig = go.Figure(layout=BASE_LAYOUT)
    # Short per-point text, numbers through the template: 10k points stay a few hundred kB.
    hover = ("#" + shown["point_id"].astype(str) + " " + shown["model"] + " " + shown["widen"]
             + " " + _bits(shown) + " " + shown["rows"].astype(str) + "x"
             + shown["cols"].astype(str) + " " + shown["dataflow"].str.upper())
    template = f"%{{text}}<br>{x} = %{{x:.4g}}<br>{y} = %{{y:.4g}}<extra></extra>"
    marker = dict(size=6, opacity=0.7)
    # One trace per colour category, or a single trace (coloured by a numeric column, or plain).
    if colour in shown.columns and not pd.api.types.is_numeric_dtype(shown[colour]):
        groups = shown.groupby(colour, sort=True).groups.items()
        parts = [(f"{colour}={value}", shown.loc[rows],
                  dict(marker, color=PALETTE[i % len(PALETTE)]))
                 for i, (value, rows) in enumerate(groups)]
    else:
        if colour in shown.columns:
            marker.update(color=shown[colour], colorscale="Viridis", showscale=True,
                          colorbar=dict(title=dict(text=colour, side="right")))
        parts = [("design points", shown, marker)]
    for name, part, style in parts:
        fig.add_trace(POINTS(x=part[x], y=part[y], mode="markers", name=name,
                             customdata=_ids(part), text=hover[part.index],
                             hovertemplate=template, marker=style))
    fig.add_trace(go.Scatter(
        x=front[x], y=front[y], mode="lines+markers", name=f"Pareto front ({len(front)})",
        customdata=_ids(front), text=hover[front.index], hovertemplate=template,
        line=FRONT_STYLE, marker=dict(size=10, symbol="circle-open", color=FRONT_STYLE["color"],
                                      line=dict(width=2))))
    fig.update_layout(
        title=f"{len(shown):,} design points; Pareto front: {senses[x]} {x}, {senses[y]} {y}",
        xaxis=dict(title=label(x), type="log" if log_x else "linear"),
        yaxis=dict(title=label(y), type="log" if log_y else "linear"),
        dragmode="lasso", uirevision="explorer",
        clickmode="event+select")
    return fig


# ----------------------------------------------------------------------------- inside the array

def pe_heatmap_figure(run: ArrayRun) -> go.Figure:
    """Busy cycles (MACs) of each PE over the whole layer."""
    rows, cols = run.pe_busy.shape
    fig = go.Figure(go.Heatmap(
        z=run.pe_busy, x=np.arange(cols), y=np.arange(rows), colorscale="Viridis", zmin=0,
        # both ends fixed, or plotly rescales a uniform map to a meaningless sliver
        zmax=max(int(run.pe_busy.max()), 1),
        colorbar=dict(title=dict(text="busy cycles", side="right")),
        hovertemplate="PE row %{y}, column %{x}<br>%{z:,} busy cycles<extra></extra>"),
        layout=BASE_LAYOUT)
    total = run.cycles + 1
    fig.update_layout(
        title=f"{run.layer}: per-PE busy cycles, {rows}x{cols} {run.dataflow.upper()} "
              f"(PEs hold {run.holds}), "
              f"GEMM {run.m}x{run.n}x{run.k} (M x N x K), {total:,} clocks, utilisation "
              f"{run.utilization:.1%}",
        xaxis=dict(title="PE column", dtick=max(1, cols // 16), constrain="domain"),
        yaxis=dict(title="PE row", autorange="reversed", dtick=max(1, rows // 16),
                   scaleanchor="x"))
    return fig


def fold_groups(folds: pd.DataFrame, pes: int, limit: int = MAX_TIMELINE_BARS) -> pd.DataFrame:
    """Consecutive folds merged into at most ``limit`` bars (a fold per bar when they fit)."""
    group = np.arange(len(folds)) * min(limit, len(folds)) // max(len(folds), 1)
    merged = folds.groupby(group).agg(first_fold=("fold", "first"), last_fold=("fold", "last"),
                                      first_row=("first_row", "first"),
                                      first_col=("first_col", "first"),
                                      start_clock=("start_clock", "first"),
                                      clocks=("clocks", "sum"), macs=("macs", "sum"))
    merged["utilization"] = merged["macs"] / (merged["clocks"] * pes)
    return merged.reset_index(drop=True)


def fold_timeline_figure(run: ArrayRun) -> go.Figure:
    """Fold by fold along the clock: each bar spans a fold's clocks, its height the fold's
    utilisation; more folds than fit are merged into runs of consecutive folds."""
    bars = fold_groups(run.folds, run.rows * run.cols)
    which = np.where(bars["first_fold"] == bars["last_fold"],
                     "fold " + bars["first_fold"].astype(str),
                     "folds " + bars["first_fold"].astype(str) + "-"
                     + bars["last_fold"].astype(str))
    hover = (which + "<br>tile at GEMM row " + bars["first_row"].astype(str) + ", column "
             + bars["first_col"].astype(str) + "<br>clocks " + bars["start_clock"].astype(str)
             + "-" + (bars["start_clock"] + bars["clocks"]).astype(str) + "<br>MACs "
             + bars["macs"].astype(str) + ", utilisation "
             + bars["utilization"].map("{:.1%}".format))
    fig = go.Figure(go.Bar(
        x=bars["start_clock"] + bars["clocks"] / 2, y=bars["utilization"], width=bars["clocks"],
        hovertext=hover, hoverinfo="text", name="folds",
        # Alternate shades so that neighbouring folds stay apart at any zoom.
        marker=dict(color=np.where(np.arange(len(bars)) % 2, "#aec7e8", "#1f77b4").tolist(),
                    line=dict(width=0))),
        layout=BASE_LAYOUT)
    shown = f"{len(run.folds):,} folds" + (
        f" in {len(bars)} bars" if len(bars) < len(run.folds) else "")
    fig.update_layout(title=f"{run.layer}: fold-by-fold timeline ({shown})",
                      xaxis_title="clock", yaxis=dict(title="PE utilisation in the fold",
                                                      range=[0, 1.05], tickformat=".0%"),
                      bargap=0, showlegend=False)
    return fig


__all__ = ["accuracy_cost_figure", "empty_figure", "explorer_figure", "fold_groups",
           "fold_timeline_figure", "footprint_figure", "pe_heatmap_figure"]
