"""The dashboard's figures: pure functions from the tables in ``frames`` to plotly Figures.

No Dash here, no global state: each function can be called and checked without a browser.
Every point trace carries the design point's ``point_id`` (or the accuracy row's key) in
``customdata`` so that selections in the page map back to rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dse import fronts

from .frames import (COST_AXES, FOLD_STATES, ArrayRun, fold_states, frame_clocks, front_mask,
                     is_discrete, label)

SERIES_STYLE = {"paper": dict(symbol="circle", edge="white", title="published (paper)"),
                "measured": dict(symbol="diamond", edge="black", title="measured (ours)")}
FRONT_STYLE = dict(color="#2ca02c", width=2)
# The fronts' lines, darker than the points' colours so that they read on top of them.
FRONT_COLOURS = ("#000000", "#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214", "#4d4d4d")
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

def accuracy_hover(points: pd.DataFrame) -> pd.Series:
    """The full configuration of each accuracy point, for its hover box."""
    runs = np.where(points["runs"] > 1, " (mean of " + points["runs"].astype(str) + " runs, sd "
                    + points["top1_err_std"].map("{:.2f}".format) + ")", "")
    hover = ("<b>" + points["model"] + "</b> on " + points["dataset"] + ", width "
             + points["width"].map("{:g}".format) + ", widening " + points["widen"]
             + "<br>" + _bits(points) + ", teacher " + points["teacher"] + ", scheme "
             + points["scheme"].replace("", "-") + ", activation quantizer " + points["quantizer"]
             + "<br>top-1 error " + points["top1_err_pct"].map("{:.2f}".format) + " %" + runs
             + "<br>source " + points["source"])
    for column in COST_AXES:
        if column in points.columns:
            hover = hover + "<br>" + label(column) + ": " + points[column].map("{:.4g}".format)
    return hover


def accuracy_cost_figure(points: pd.DataFrame, x: str, array: str = "", log_x: bool = True,
                         log_y: bool = False) -> go.Figure:
    """Top-1 error against a cost for one data set: a trace per source (paper circles,
    measured diamonds) and training scheme, and their Pareto front.

    ``points``: ``frames.accuracy_points`` of one data set.  Rows without a value of ``x`` are
    left out and counted in the title (``frames.missing_rows`` names them).
    """
    drawn = points[points[x].notna()] if x in points.columns else points.iloc[:0]
    missing = len(points) - len(drawn)
    datasets = sorted(points["dataset"].unique()) if len(points) else []
    if drawn.empty:
        return empty_figure(f"No accuracy row of {', '.join(datasets) or 'this data set'} has "
                            f"a {label(x)} in this sweep: it holds none of their networks on "
                            "this array.")
    hover = accuracy_hover(drawn)
    fig = go.Figure(layout=BASE_LAYOUT)
    schemes = list(dict.fromkeys(drawn["scheme"].sort_values()))
    for series, style in SERIES_STYLE.items():
        for i, scheme in enumerate(schemes):
            rows = (drawn["series"] == series) & (drawn["scheme"] == scheme)
            if rows.any():
                fig.add_trace(go.Scatter(
                    x=drawn.loc[rows, x], y=drawn.loc[rows, "top1_err_pct"], mode="markers",
                    name=f"{series}: {scheme or 'unnamed'} ({int(rows.sum())})",
                    legendgroup=series, legendgrouptitle_text=style["title"],
                    hovertext=hover[rows], hoverinfo="text",
                    marker=dict(size=12 if series == "measured" else 9, symbol=style["symbol"],
                                color=PALETTE[i % len(PALETTE)],
                                line=dict(width=1.5, color=style["edge"]))))
    front = drawn[front_mask(drawn, {x: "min", "top1_err_pct": "min"})].sort_values(x)
    fig.add_trace(go.Scatter(x=front[x], y=front["top1_err_pct"], mode="lines",
                             name=f"Pareto front of {', '.join(datasets)}",
                             line=dict(shape="hv", **FRONT_STYLE), hoverinfo="skip"))
    # The paper's compute cost depends on the network only; energy and area on the array too.
    title = (f"{', '.join(datasets)}: top-1 error vs {label(x, unit=False)}"
             + (f" on {array}" if array and x != COST_AXES[0] else ""))
    if missing:
        title += (f"<br><sup>{missing} accuracy row{'s' * (missing != 1)} of this data set "
                  "have no design point in this sweep (listed below the plot)</sup>")
    fig.update_layout(title=title, legend=dict(orientation="v", x=1.02, y=1, yanchor="top"),
                      xaxis=dict(title=label(x), type="log" if log_x else "linear"),
                      yaxis=dict(title=label("top1_err_pct"), type="log" if log_y else "linear"))
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
        xaxis_title="network",
        title=f"Memory footprint, {phase}, batch {batch}, {wbits}-bit weights / {abits}-bit "
              "activations (paper Figure 1)")
    return fig


# ----------------------------------------------------------------------------- explorer

def explorer_figure(shown: pd.DataFrame, front: pd.DataFrame, x: str, y: str,
                    colour: str | None, senses: dict[str, str], log_x: bool = False,
                    log_y: bool = False) -> go.Figure:
    """Every shown design point, coloured by a column, with the front of each group on top.

    ``front``: ``frames.explorer_front(...).front`` of ``shown`` (a ``pareto_group`` per
    row: one data set or one workload); ``senses``: min or max for x and y.  A text column or a
    numeric one with few values colours by category, with a legend entry per value.
    """
    if shown.empty:
        return empty_figure("No design point matches the filters.")
    fig = go.Figure(layout=BASE_LAYOUT)
    # Short per-point text, numbers through the template: 10k points stay a few hundred kB.
    hover = ("#" + shown["point_id"].astype(str) + " " + shown["model"] + " "
             + shown["dataset"] + " width " + shown["width"].map("{:g}".format) + " "
             + shown["widen"] + "<br>" + _bits(shown) + " " + shown["rows"].astype(str) + "x"
             + shown["cols"].astype(str) + " " + shown["dataflow"].str.upper() + ", teacher "
             + shown["teacher"])
    template = (f"%{{text}}<br>{label(x)} = %{{x:.4g}}<br>{label(y)} = %{{y:.4g}}"
                "<extra></extra>")
    marker = dict(size=6, opacity=0.7)
    if colour in shown.columns and is_discrete(shown, colour):
        groups = shown.groupby(colour, sort=True).groups.items()
        parts = [(fronts.value_text(value), shown.loc[rows], dict(marker, color=PALETTE[i % len(PALETTE)]))
                 for i, (value, rows) in enumerate(groups)]
    else:
        if colour in shown.columns:
            marker.update(color=shown[colour], colorscale="Viridis", showscale=True,
                          colorbar=dict(title=dict(text=label(colour), side="right"),
                                        x=1.0, xpad=4, len=0.6, y=0.3))
        parts = [("design points", shown, marker)]
    title = label(colour) if colour in shown.columns else "design points"
    for name, part, style in parts:
        fig.add_trace(POINTS(x=part[x], y=part[y], mode="markers", name=name,
                             legendgroup="points", legendgrouptitle_text=title,
                             customdata=_ids(part), text=hover[part.index],
                             hovertemplate=template, marker=style))
    by = "data set" if fronts.ACCURACY in (x, y) else "workload"
    for i, (group, members) in enumerate(front.groupby("pareto_group", sort=False)):
        members = members.sort_values([x, y], kind="stable")
        colour_i = FRONT_COLOURS[i % len(FRONT_COLOURS)]
        fig.add_trace(go.Scatter(
            x=members[x], y=members[y], mode="lines+markers",
            name=f"{_short_group(group)} ({len(members)})", legendgroup="fronts",
            legendgrouptitle_text=f"Pareto front per {by}", customdata=_ids(members),
            text=hover[members.index], hovertemplate=template,
            line=dict(color=colour_i, width=2),
            marker=dict(size=10, symbol="circle-open", color=colour_i, line=dict(width=2))))
    unplotted = int(shown[[x, y]].isna().any(axis=1).sum())
    note = f"; {unplotted:,} without a {label(x if shown[x].isna().any() else y, unit=False)} " \
           "not drawn" if unplotted else ""
    fig.update_layout(
        title=f"{len(shown):,} design points{note}<br><sup>front of each {by}: {senses[x]} "
              f"{label(x, unit=False)}, {senses[y]} {label(y, unit=False)}</sup>",
        xaxis=dict(title=label(x), type="log" if log_x else "linear"),
        yaxis=dict(title=label(y), type="log" if log_y else "linear"),
        legend=dict(orientation="v", x=1.02, y=1, yanchor="top", groupclick="toggleitem"),
        dragmode="lasso", uirevision="explorer", clickmode="event+select")
    return fig


def _short_group(group: str) -> str:
    """``model=resnet56 dataset=cifar10 width=1 widen=none`` -> ``resnet56 cifar10 width 1
    widen none`` for a legend."""
    return " ".join(part.split("=", 1)[1] if part.split("=", 1)[0] in ("model", "dataset")
                    else part.replace("=", " ") for part in group.split())


# ----------------------------------------------------------------------------- inside the array

# One colour per FOLD_STATES code: idle grey, loading violet, waiting pale, MAC strong, done mid.
STATE_COLOURS = ("#d9d9d9", "#b39ddb", "#fff3c4", "#e6550d", "#6baed6")
MAX_FRAME_CELLS = 200_000  # PE states sent per animation (clocks shown x PEs)
MAX_FRAMES = 80


def _stepped_scale(colours) -> list:
    """A stepped colour scale over codes 0..len(colours) - 1: each code one flat band."""
    n = len(colours)
    scale = []
    for code, colour in enumerate(colours):
        scale += [[code / n, colour], [(code + 1) / n, colour]]
    return scale


def wavefront_figure(run: ArrayRun, fold: int) -> go.Figure:
    """One fold clock by clock: which PEs load, wait, compute or are done, with a slider and a
    play button (plotly frames, animated in the browser without a server round trip)."""
    row = run.folds.iloc[fold]
    total = int(row["clocks"])
    limit = max(8, min(MAX_FRAMES, MAX_FRAME_CELLS // (run.rows * run.cols)))
    clocks = frame_clocks(total, limit, edge=run.preload + run.rows + run.cols)
    states = fold_states(run, fold, clocks)
    used = f"{int(row['used_rows'])}x{int(row['used_cols'])} of {run.rows}x{run.cols} PEs"
    heading = (f"{run.layer}: the wavefront of fold {fold + 1} of {len(run.folds)}"
               + (", a partial fold" if row["partial"] else "")
               + f"<br><sup>tile at GEMM row {int(row['first_row'])}, column "
               + f"{int(row['first_col'])} uses {used}; each streams T = {run.temporal}")
    n = len(STATE_COLOURS)
    hover = np.array(FOLD_STATES, dtype=object)

    def heat(z):
        return go.Heatmap(z=z, zmin=-0.5, zmax=n - 0.5,
                          colorscale=_stepped_scale(STATE_COLOURS), customdata=hover[z],
                          xgap=1, ygap=1,
                          hovertemplate="PE row %{y}, column %{x}: %{customdata}<extra></extra>",
                          colorbar=dict(tickvals=list(range(n)), ticktext=list(FOLD_STATES),
                                        x=1.0, xpad=4, len=0.9, thickness=14))

    def title(i):
        busy = int((states[i] == 3).sum())
        return (f"{heading}<br>clock {clocks[i]} of {total}: {busy} of {run.rows * run.cols} "
                "PEs make a MAC</sup>")

    # Open half-way through the fill, where the diagonal wavefront shows; play goes on from it.
    middle = run.preload + (int(row["used_rows"]) + int(row["used_cols"])) // 2
    first = int(np.searchsorted(clocks, min(middle, total - 1)))

    fig = go.Figure(heat(states[first]), layout=BASE_LAYOUT,
                    frames=[go.Frame(data=[heat(states[i])], name=str(c),
                                     layout=dict(title_text=title(i)))
                            for i, c in enumerate(clocks)])
    step = dict(method="animate", args=None)
    fig.update_layout(
        title=title(first), margin=dict(l=70, r=20, t=100, b=110),
        xaxis=dict(title="PE column", dtick=max(1, run.cols // 16), constrain="domain"),
        yaxis=dict(title="PE row", autorange="reversed", dtick=max(1, run.rows // 16),
                   scaleanchor="x"),
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.12, xanchor="left",
                          yanchor="top", showactive=False, buttons=[
                              dict(label="play", method="animate",
                                   args=[None, dict(frame=dict(duration=120, redraw=True),
                                                    transition=dict(duration=0),
                                                    fromcurrent=True)]),
                              dict(label="pause", method="animate",
                                   args=[[None], dict(mode="immediate",
                                                      frame=dict(duration=0))])])],
        sliders=[dict(active=first, x=0.12, len=0.88, y=-0.08, yanchor="top",
                      currentvalue=dict(prefix="clock "), steps=[
                          dict(step, label=str(c), args=[[str(c)], dict(
                              mode="immediate", frame=dict(duration=0, redraw=True),
                              transition=dict(duration=0))]) for c in clocks])])
    return fig


def pe_heatmap_figure(run: ArrayRun) -> go.Figure:
    """Busy cycles of each PE over the whole layer, as a share of the layer's clocks.

    The scale spans the PEs' own range, not 0..max: partial folds leave the last rows and
    columns idle, and a difference of a few per cent must still show as a different colour.
    """
    rows, cols = run.pe_busy.shape
    total = int(run.folds["clocks"].sum())
    share = run.pe_busy / max(total, 1)
    low, high = float(share.min()), float(share.max())
    spread = (f"busy share from {low:.1%} to {high:.1%}: PEs past a partial fold's tile idle "
              "through it" if high > low else f"every PE busy {low:.1%} of the clocks: the "
              "GEMM divides evenly into the array, the rest is the wavefront's fill and drain")
    fig = go.Figure(go.Heatmap(
        z=share, x=np.arange(cols), y=np.arange(rows), colorscale="Viridis", zmin=low,
        zmax=high if high > low else low + 1e-9, customdata=run.pe_busy, xgap=1, ygap=1,
        colorbar=dict(title=dict(text="busy share of the layer's clocks", side="right"),
                      tickformat=".1%", x=1.0, xpad=4, len=0.9, thickness=14),
        hovertemplate="PE row %{y}, column %{x}<br>%{customdata:,} MACs, busy %{z:.1%} of "
                      "the clocks<extra></extra>"), layout=BASE_LAYOUT)
    fig.update_layout(
        title=f"{run.layer}: how busy each PE is over the layer<br><sup>{rows}x{cols} "
              f"{run.dataflow.upper()} (PEs hold {run.holds}), GEMM {run.m}x{run.n}x{run.k} "
              f"(M x N x K), {total:,} clocks, utilisation {run.utilization:.1%}<br>"
              f"{spread}</sup>",
        margin=dict(l=70, r=20, t=100, b=60),
        xaxis=dict(title="PE column", dtick=max(1, cols // 16), constrain="domain"),
        yaxis=dict(title="PE row", autorange="reversed", dtick=max(1, rows // 16),
                   scaleanchor="x"))
    return fig


LOSS_COLOURS = ("#e6550d", "#b39ddb", "#fdd0a2", "#bdbdbd")


def losses_figure(losses: pd.DataFrame, run: ArrayRun) -> go.Figure:
    """Where the layer's PE-clocks go, as one stacked bar of shares (``utilisation_losses``)."""
    fig = go.Figure(layout=BASE_LAYOUT)
    for (_, part), colour in zip(losses.iterrows(), LOSS_COLOURS):
        fig.add_trace(go.Bar(
            x=[part["share"]], y=["PE-clocks"], orientation="h", name=part["part"],
            marker_color=colour, text=[f"{part['share']:.1%}"], textposition="inside",
            hovertemplate=f"{part['part']}: {int(part['pe_clocks']):,} PE-clocks "
                          "(%{x:.1%})<extra></extra>"))
    fig.update_layout(
        barmode="stack", title=dict(text=f"{run.layer}: where the array's clocks go "
                                         f"({run.dataflow.upper()}, utilisation "
                                         f"{run.utilization:.1%})", y=0.97),
        xaxis=dict(title="share of the layer's clocks x PEs", tickformat=".0%",
                   range=[0, 1]), yaxis=dict(visible=False),
        legend=dict(orientation="h", y=1.0, x=0, yanchor="bottom", traceorder="normal"),
        margin=dict(l=20, r=20, t=80, b=50))
    return fig


def fold_groups(folds: pd.DataFrame, pes: int, limit: int = MAX_TIMELINE_BARS) -> pd.DataFrame:
    """Consecutive folds merged into at most ``limit`` bars (a fold per bar when they fit); a
    bar is partial when any of its folds is."""
    group = np.arange(len(folds)) * min(limit, len(folds)) // max(len(folds), 1)
    partial = folds["partial"] if "partial" in folds.columns else pd.Series(False, folds.index)
    merged = folds.assign(partial=partial).groupby(group).agg(
        first_fold=("fold", "first"), last_fold=("fold", "last"),
        first_row=("first_row", "first"), first_col=("first_col", "first"),
        start_clock=("start_clock", "first"), clocks=("clocks", "sum"), macs=("macs", "sum"),
        partial=("partial", "any"))
    merged["utilization"] = merged["macs"] / (merged["clocks"] * pes)
    return merged.reset_index(drop=True)


def fold_timeline_figure(run: ArrayRun) -> go.Figure:
    """Fold by fold along the clock: each bar spans a fold's clocks, its height the fold's
    utilisation, full folds and partial (edge) folds in two colours with a legend; more folds
    than fit are merged into runs of consecutive folds."""
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
    fig = go.Figure(layout=BASE_LAYOUT)
    for partial, name, colour in ((False, "full folds (every PE in the tile)", "#1f77b4"),
                                  (True, "partial folds (tile smaller than the array)",
                                   "#ff7f0e")):
        rows = bars["partial"] == partial
        if rows.any():
            fig.add_trace(go.Bar(
                x=bars.loc[rows, "start_clock"] + bars.loc[rows, "clocks"] / 2,
                y=bars.loc[rows, "utilization"], width=bars.loc[rows, "clocks"],
                hovertext=hover[rows.to_numpy()], hoverinfo="text", name=name,
                marker=dict(color=colour, line=dict(width=0.5, color="white"))))
    shown = f"{len(run.folds):,} folds" + (
        f" in {len(bars)} bars" if len(bars) < len(run.folds) else "")
    fig.update_layout(title=f"{run.layer}: fold-by-fold timeline ({shown})",
                      xaxis_title="clock", yaxis=dict(title="PE utilisation in the fold",
                                                      range=[0, 1.05], tickformat=".0%"),
                      bargap=0, barmode="overlay")
    return fig


__all__ = ["accuracy_cost_figure", "accuracy_hover", "empty_figure", "explorer_figure",
           "fold_groups", "fold_timeline_figure", "footprint_figure", "losses_figure",
           "pe_heatmap_figure", "wavefront_figure"]


# ----------------------------------------------------------------------------- mixed precision

BITS_SHOWN = (1, 2, 4, 8, 16, 32)
BITS_COLOURS = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154", "#000000")


def mixed_precision_figure(strips) -> go.Figure:
    """Heat strips of per-layer weight and activation widths, one row per design, beside each
    design's error (measured mean with its standard error; estimated designs hollow)."""
    from plotly.subplots import make_subplots

    if not strips.designs:
        return empty_figure("No mixed-precision comparison: run python -m "
                            "experiments.mixed_precision, or give --results a folder with "
                            "its comparison.csv")
    t = strips.table
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, column_widths=[0.38, 0.38, 0.24],
                        horizontal_spacing=0.03,
                        subplot_titles=("weight bits per layer", "activation bits per layer",
                                        "top-1 error %"))
    index = {b: k for k, b in enumerate(BITS_SHOWN)}
    hover = (t["design"] + "<br>energy " + t["energy_per_inference_uj"].map("{:.3f}".format)
             + " uJ, PE " + t["pe"].astype(str)).to_numpy()
    for col, bits, name in ((1, strips.wbits, "weights"), (2, strips.abits, "activations")):
        z = np.vectorize(index.get)(bits) if bits.size else bits
        text = [[f"{h}<br>{layer}: {b}-bit {name}" for layer, b in zip(strips.layers, row)]
                for h, row in zip(hover, bits)]
        fig.add_trace(go.Heatmap(
            z=z, x=strips.layers, y=strips.designs, zmin=0, zmax=len(BITS_SHOWN),
            colorscale=_stepped_scale(BITS_COLOURS), text=text, hoverinfo="text", xgap=1,
            ygap=1,
            showscale=col == 1, colorbar=dict(
                title="bits", tickvals=[k + 0.5 for k in range(len(BITS_SHOWN))],
                ticktext=[str(b) for b in BITS_SHOWN], x=1.02)), row=1, col=col)
    measured = t["runs"].fillna(0).to_numpy() > 0
    err = np.where(measured, t["top1_err_pct"], t["top1_err_est_pct"])
    for shown, title, symbol in ((measured, "measured (mean ± SE)", "diamond"),
                                 (~measured, "estimated", "diamond-open")):
        if not shown.any():
            continue
        fig.add_trace(go.Scatter(
            x=err[shown], y=np.array(strips.designs)[shown], mode="markers", name=title,
            marker=dict(symbol=symbol, size=10, color=[
                "#d62728" if k == "uniform" else "#1f77b4" for k in t["kind"][shown]]),
            error_x=dict(type="data", array=t["top1_err_se"].fillna(0).to_numpy()[shown]),
            hovertext=hover[shown], hoverinfo="text+x"), row=1, col=3)
    fig.update_layout(**BASE_LAYOUT, height=max(320, 40 * len(strips.designs) + 160),
                      title="Per-layer bit allocations, cheapest energy at the top "
                            "(red: the paper's uniform designs)")
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-60, row=1, col=1)
    fig.update_xaxes(tickangle=-60, row=1, col=2)
    return fig
