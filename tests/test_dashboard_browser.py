"""The dashboard in a real browser: Debian's Chromium driven by Playwright (never
`playwright install`).

The app is served in-process on a free loopback port.  Each view is opened, a control changed
and the figure checked through ``gd._fullData`` (Plotly 6+ sends arrays base64-encoded, so the
page's ``gd.data`` holds no plain arrays) or by counting SVG points; the Pareto CSV is
downloaded and compared with the data; the console must stay free of errors; a screenshot of
each view goes to ci-artifacts/screenshots/ (CI keeps that folder).
"""
from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pandas as pd
import pytest
from werkzeug.serving import make_server

from accelsim.formats import ACCURACY_COLUMNS
from dashboards import app as dash_app
from dashboards import load
from dse.results import shipped_accuracy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "ci-artifacts" / "screenshots"
FIRST_WAIT_MS = 20_000  # plotly.min.js is 4.8 MB: the first page takes ~4-5 s on a 2-core box
WAIT_MS = 10_000
HARDWARE = dict(load.DEFAULT_HARDWARE, rows=[4, 8], cols=[8], dataflow=["os", "ws"],
                wbits=[2, 4, 32], abits=[8, 32])


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, pointed at the system Chromium."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (scripts/setup.sh does)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


def serve(results: load.Results):
    """Start the app on a free loopback port in a daemon thread; returns (url, server)."""
    server = make_server("127.0.0.1", 0, dash_app.create_app(results).server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/", server


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory) -> Path:
    """A results folder as a user would have it: a sweep of two data sets (the paper's CIFAR-10
    ResNets and the committed Fashion-MNIST runs' network), measured accuracy, no footprint."""
    folder = tmp_path_factory.mktemp("results")
    committed = shipped_accuracy()
    committed = committed[committed["source"].eq("measured") & committed["model"].eq("resnet20")]
    sweep = load.default_sweep(models=("resnet44", "resnet56"), hardware=HARDWARE,
                               measured=committed)
    sweep.to_csv(folder / "sweep.csv", index=False)
    measured = pd.DataFrame(
        [dict(model="resnet56", dataset="cifar10", wbits=2, abits=8, widen="first30", width=1,
              teacher="", scheme="wrpn", epochs=3, seed=seed, top1_err=err, source="measured")
         for seed, err in ((0, 9.0), (1, 10.0))], columns=list(ACCURACY_COLUMNS))
    measured.to_csv(folder / "accuracy.csv", index=False)
    layers = " ".join(f"stage{s}.block{b}.conv{c}" for s in (1, 2, 3) for b in (1, 2, 3)
                      for c in (1, 2))
    pd.DataFrame(dict(  # experiments.mixed_precision's comparison table
        design=["uniform w2a8", "mixed mp-1"], kind=["uniform", "mixed"], pe=["2x8", "2x8"],
        layers=layers, layer_widths=[" ".join(["2/8"] * 18), " ".join(["1/4", "2/8"] * 9)],
        top1_err_pct=[27.7, 28.0], top1_err_se=[0.6, 0.5], runs=[3, 3],
        top1_err_est_pct=[float("nan"), 27.9], energy_per_inference_uj=[12.3, 11.0],
    )).to_csv(folder / "comparison.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def served(results_folder):
    results = load.load(results_folder)
    url, server = serve(results)
    yield url, results
    server.shutdown()


@pytest.fixture
def console(page):
    """Errors the page reports: console.error calls and uncaught exceptions."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(WAIT_MS)
    return errors


def graph(selector: str) -> str:
    return f"document.querySelector('{selector} .js-plotly-plot')"


def wait_for_figure(page, selector: str, timeout: int = WAIT_MS) -> None:
    page.wait_for_function(f"() => {{ const g = {graph(selector)}; "
                           "return g && g._fullData && g._fullData.length > 0; }",
                           timeout=timeout)


def traces(page, selector: str) -> list[dict]:
    """name, length, legend group, x, y and customdata of every trace as plotly drew them."""
    return page.evaluate(
        f"() => {graph(selector)}._fullData.map(t => ({{name: t.name, n: t._length, "
        "group: t.legendgroup, "
        "x: t.x ? Array.from(t.x) : [], y: t.y ? Array.from(t.y) : [], "
        "z: t.z ? Array.from(t.z, r => Array.from(r)) : [], "
        "ids: t.customdata ? Array.from(t.customdata) : []}))")


def wait_for_change(page, selector: str, before: str) -> None:
    """Wait until the figure's JSON (names, lengths, first values) differs from ``before``."""
    page.wait_for_function(
        f"(before) => {{ const g = {graph(selector)}; if (!g || !g._fullData) return false; "
        "const now = JSON.stringify(g._fullData.map(t => [t.name, t._length, "
        "t.x ? Array.from(t.x).slice(0, 5) : 0, t.y ? Array.from(t.y).slice(0, 5) : 0, "
        "t.z ? t.z.length : 0])); return now !== before; }", arg=before, timeout=WAIT_MS)


def signature(page, selector: str) -> str:
    return page.evaluate(
        f"() => JSON.stringify({graph(selector)}._fullData.map(t => [t.name, t._length, "
        "t.x ? Array.from(t.x).slice(0, 5) : 0, t.y ? Array.from(t.y).slice(0, 5) : 0, "
        "t.z ? t.z.length : 0]))")


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let the last transition settle
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def open_tab(page, label: str) -> None:
    page.locator("#tabs").get_by_text(label, exact=True).click()


def choose(page, dropdown_id: str, option: str) -> None:
    """Pick an option of a Dash 4 dropdown."""
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=option, exact=True).click()


def hover_over(page, locator) -> tuple[float, float]:
    """Move the mouse onto a plotted point (plotly picks points from the mouse position)."""
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    return x, y


def axis_titles(page, selector: str) -> tuple[str, str]:
    return (page.locator(f"{selector} .xtitle").text_content(),
            page.locator(f"{selector} .ytitle").text_content())


def datasets_of(sweep: pd.DataFrame, ids) -> set:
    return set(sweep.set_index("point_id").loc[list(ids), "dataset"])


def test_four_views_respond_to_their_controls(page, console, served):
    url, results = served
    sweep = results.sweep
    assert set(sweep["dataset"]) == {"cifar10", "fashion-mnist"}
    page.goto(url)

    # 1. Accuracy vs compute cost: one data set, paper and measured told apart, one front.
    wait_for_figure(page, "#acc-graph", FIRST_WAIT_MS)
    drawn = traces(page, "#acc-graph")
    names = [t["name"] for t in drawn]
    assert any(n.startswith("paper:") for n in names)
    assert any(n.startswith("measured:") for n in names)
    assert [n for n in names if n.startswith("Pareto")] == ["Pareto front of cifar10"]
    points = page.locator("#acc-graph .scatterlayer .trace:not(:last-child) .point").count()
    assert points == 48 + 1  # the paper's Tables 1-4 on ResNet-44/56, one measured point
    assert axis_titles(page, "#acc-graph") == ("compute cost (MAC-bits)", "top-1 error (%)")
    assert page.evaluate(f"() => {graph('#acc-graph')}._fullLayout.xaxis.type") == "log"
    # the hover box holds the whole configuration
    hover_over(page, page.locator("#acc-graph .scatterlayer .point").first)
    hover = page.locator("#acc-graph .hoverlayer")
    hover.get_by_text("activation quantizer", exact=False).wait_for()
    assert "teacher" in hover.text_content() and "source" in hover.text_content()
    before = signature(page, "#acc-graph")
    page.get_by_label("energy per inference (uJ)").check()
    wait_for_change(page, "#acc-graph", before)
    assert axis_titles(page, "#acc-graph")[0] == "energy per inference (uJ)"
    shoot(page, "1-accuracy-vs-cost")
    # the other data set: its own points and front, never the CIFAR-10 ones
    before = signature(page, "#acc-graph")
    page.locator("#acc-dataset").get_by_label("fashion-mnist").check()
    wait_for_change(page, "#acc-graph", before)
    names = [t["name"] for t in traces(page, "#acc-graph")]
    assert [n for n in names if n.startswith("Pareto")] == ["Pareto front of fashion-mnist"]
    assert all(n.startswith(("measured:", "Pareto")) for n in names)  # the paper has none
    shoot(page, "1b-accuracy-fashion-mnist")

    # 2. Memory footprint: seven networks, weights and activations; inference shrinks it.
    open_tab(page, "Memory footprint")
    wait_for_figure(page, "#fp-graph")
    assert page.locator("#fp-graph .barlayer .point").count() == 2 * 7
    training = traces(page, "#fp-graph")[1]["y"]
    before = signature(page, "#fp-graph")
    page.get_by_label("inference").check()
    wait_for_change(page, "#fp-graph", before)
    inference = traces(page, "#fp-graph")[1]["y"]
    assert all(i < t for i, t in zip(inference, training))
    assert axis_titles(page, "#fp-graph") == ("network", "memory (MiB)")
    shoot(page, "2-memory-footprint")

    # 3. Explorer: one data set at first, discrete widths, fronts that never mix data sets.
    open_tab(page, "Design-space explorer")
    wait_for_figure(page, "#ex-graph")
    assert axis_titles(page, "#ex-graph") == ("energy per inference (uJ)", "top-1 error (%)")
    drawn = traces(page, "#ex-graph")
    cifar = sweep[sweep["dataset"] == "cifar10"]
    fronts = [t for t in drawn if t["group"] == "fronts"]
    assert len(fronts) == 1 and datasets_of(sweep, fronts[0]["ids"]) == {"cifar10"}
    widths = [t["name"] for t in drawn if t not in fronts]
    assert widths == ["2", "4", "32"]  # a legend entry per weight width, not one colour scale
    assert page.locator("#ex-graph .legend").get_by_text("weight bits (b)").count() == 1
    assert sum(t["n"] for t in drawn if t not in fronts) == len(cifar)
    before = signature(page, "#ex-graph")
    page.locator("#ex-dataset").get_by_label("fashion-mnist").check()
    wait_for_change(page, "#ex-graph", before)
    fronts = [t for t in traces(page, "#ex-graph") if t["group"] == "fronts"]
    assert len(fronts) == 2 and all(len(datasets_of(sweep, t["ids"])) == 1 for t in fronts)
    # no accuracy on the axes: a front per workload (network, data set, width, widening)
    before = signature(page, "#ex-graph")
    choose(page, "ex-y", "latency (ms)")
    wait_for_change(page, "#ex-graph", before)
    assert axis_titles(page, "#ex-graph")[1] == "latency (ms)"
    before = signature(page, "#ex-graph")
    page.locator("#ex-dataflow").get_by_label("ws").uncheck()
    wait_for_change(page, "#ex-graph", before)
    drawn = traces(page, "#ex-graph")
    fronts = [t for t in drawn if t["group"] == "fronts"]
    kept = sweep[sweep["dataflow"] == "os"]
    assert sum(t["n"] for t in drawn if t not in fronts) == len(kept)
    workloads = kept[["model", "dataset", "width", "widen"]].drop_duplicates()
    assert len(fronts) == len(workloads)
    for front in fronts:
        chosen = kept.set_index("point_id").loc[front["ids"]]
        assert len(chosen[["model", "dataset", "width", "widen"]].drop_duplicates()) == 1
    shown_ids = sorted(i for t in fronts for i in t["ids"])
    with page.expect_download() as download:
        page.get_by_role("button", name="Export Pareto CSV").click()
    assert download.value.suggested_filename == "pareto.csv"
    exported = pd.read_csv(io.StringIO(Path(download.value.path()).read_text()))
    assert list(exported.columns) == list(sweep.columns) + [
        "pareto_group", "pareto_objectives", "pareto_filters", "pareto_rank", "equal_points",
        "point_ids", "variants"]
    assert sorted(exported["point_id"]) == shown_ids
    assert (exported["pareto_rank"] == 1).all()
    assert set(exported["pareto_objectives"]) == {"min:energy_per_inference_uj min:latency_ms"}
    assert set(exported["pareto_filters"]) == {"dataflow in {os}"}
    assert (exported.groupby("pareto_group")["dataset"].nunique() == 1).all()
    assert (exported["equal_points"] == 2).all()  # the teachers, collapsed into one row each
    assert exported["variants"].str.startswith("teacher: none, resnet").all()
    expected = sweep.set_index("point_id").loc[exported["point_id"]]
    assert (exported["area_mm2"].to_numpy() == expected["area_mm2"].to_numpy()).all()
    assert page.locator("#ex-table-caption").inner_text().startswith(
        f"Pareto fronts: {len(exported)} designs")
    headers = page.locator("#ex-table .column-header-name").all_inner_texts()
    assert "energy per inference (uJ)" in headers and "weight bits (b)" in headers
    padding = page.evaluate("() => getComputedStyle(document.querySelector("
                            "'#ex-table td')).paddingLeft")
    assert float(padding.rstrip("px")) >= 4
    shoot(page, "3-design-space-explorer")

    # 4. Inside the array: the wavefront plays, the heat map follows a change of rows.
    open_tab(page, "Inside the array")
    for selector in ("#arr-wavefront", "#arr-heatmap", "#arr-losses", "#arr-timeline"):
        wait_for_figure(page, selector)
    wavefront = graph("#arr-wavefront")
    assert page.evaluate(f"() => {wavefront}._transitionData._frames.length") > 10
    start = page.evaluate(f"() => {wavefront}._fullLayout.sliders[0].active")
    page.locator("#arr-wavefront .updatemenu-button").filter(has_text="play").click()
    page.wait_for_function(f"() => {wavefront}._fullLayout.sliders[0].active > {start} + 2",
                           timeout=WAIT_MS)
    page.locator("#arr-wavefront .updatemenu-button").filter(has_text="pause").click()
    assert "MAC" in page.locator("#arr-wavefront .colorbar").text_content()
    timeline = [t["name"] for t in traces(page, "#arr-timeline")]
    assert timeline == ["full folds (every PE in the tile)",
                        "partial folds (tile smaller than the array)"]
    assert len(traces(page, "#arr-losses")) == 4
    assert axis_titles(page, "#arr-heatmap") == ("PE column", "PE row")
    assert len(traces(page, "#arr-heatmap")[0]["z"]) == 8
    shoot(page, "4-inside-the-array")
    before = signature(page, "#arr-heatmap")
    choose(page, "arr-rows", "4")
    wait_for_change(page, "#arr-heatmap", before)
    heat = traces(page, "#arr-heatmap")[0]["z"]
    assert len(heat) == 4 and len(heat[0]) == 8 and sum(map(sum, heat)) > 0
    assert traces(page, "#arr-timeline")[0]["n"] > 0
    open_tab(page, "Mixed precision")
    wait_for_figure(page, "#mixed-graph")
    shown = traces(page, "#mixed-graph")
    assert [t["name"] for t in shown][-1] == "measured (mean ± SE)"
    heat = page.evaluate(f"() => {graph('#mixed-graph')}._fullData"
                         ".filter(t => t.type === 'heatmap').map(t => [t.z.length, t.z[0].length])")
    assert heat == [[2, 18], [2, 18]]   # two designs x 18 layers, weights and activations
    shoot(page, "5-mixed-precision")
    assert console == []


def test_explorer_click_loads_the_point_inside_the_array(page, console, served):
    url, results = served
    page.goto(url)
    wait_for_figure(page, "#acc-graph", FIRST_WAIT_MS)
    open_tab(page, "Design-space explorer")
    wait_for_figure(page, "#ex-graph")
    front_ids = [i for t in traces(page, "#ex-graph") if t["group"] == "fronts"
                 for i in t["ids"]]
    # Plotly picks the clicked point from the mouse's hover position: move there, then click.
    hover_over(page, page.locator("#ex-graph .scatterlayer .trace .point").first)
    with page.expect_response(lambda r: "arr-network" in (r.request.post_data or "")) as picking:
        page.mouse.down()
        page.mouse.up()
    assert picking.value.status == 200  # 204 would mean the click named no design point
    # Points on top of each other (teachers share hardware figures): take the one plotly picked.
    picked = page.evaluate(f"() => {graph('#ex-graph')}._hoverdata[0].customdata")
    assert picked in front_ids
    open_tab(page, "Inside the array")
    wait_for_figure(page, "#arr-heatmap")
    point = results.sweep.set_index("point_id").loc[picked]
    page.wait_for_function(
        f"() => {graph('#arr-heatmap')}._fullData[0].z.length === {int(point['rows'])}",
        timeout=WAIT_MS)
    assert page.locator("#arr-rows").inner_text().strip() == str(point["rows"])
    assert page.locator("#arr-dataflow").inner_text().strip() == point["dataflow"]
    assert console == []


def test_malformed_csv_shows_a_message_not_a_traceback(page, console, tmp_path):
    (tmp_path / "sweep.csv").write_text("model,rows,cols,dataflow,wbits,abits\n"
                                        "resnet56,eight,8,os,2,8\n")
    url, server = serve(load.load(tmp_path))
    try:
        page.goto(url)
        message = page.locator("#messages .message")
        message.wait_for(timeout=FIRST_WAIT_MS)
        assert "sweep.csv line 2: rows='eight' is not an integer" in message.inner_text()
        note = page.locator("#acc-graph .annotation-text")
        note.wait_for()
        assert note.text_content() == "No sweep to take costs from."
        assert "Traceback" not in page.content()
        shoot(page, "5-malformed-csv")
    finally:
        server.shutdown()
    assert console == []
