"""Bad input files for the bad-input tables (tests/test_bad_inputs_*.py): traces, operand
codes, constants tables, accuracy CSVs and ONNX models, each wrong in one way.  ``make(folder)``
writes them all and returns their paths by name; nothing here needs pytest or torch."""
from __future__ import annotations

import csv
import io
import pickle
from pathlib import Path

import numpy as np

TRACE_HEADER = "layer,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,pad,wbits,abits"
GOOD_ROW = "c1,8,8,3,3,3,4,1,1,2,8"
ACCURACY_HEADER = ("model,dataset,wbits,abits,widen,width,teacher,scheme,epochs,seed,top1_err,"
                   "source")
TABLE = Path(__file__).resolve().parents[1] / "accelsim" / "tech_45nm.csv"

# name -> the rows after the header of a trace that is wrong in one way
TRACES = {
    "ok": [GOOD_ROW, "c2,8,8,3,3,4,4,1,1,2,8"],
    "bigk": ["c1,3,3,3,3,1000000000,4,1,1,2,8"],                    # K = 9e9
    "bigm": ["c1,1000000000,1000000000,3,3,3,4,1,1,2,8"],           # counts beyond int64
    "bigproduct": ["c1,3000000,3000000,3,3,3000,3000,1,1,2,8"],
    "bigbatch": ["c1,10000,10000,1,1,500,500,1,0,2,8"],          # 2.5e13 MACs: x 65536 overflows
    "digits40": ["c1," + "9" * 40 + ",8,3,3,3,4,1,1,2,8"],
    "digits5000": ["c1," + "9" * 5000 + ",8,3,3,3,4,1,1,2,8"],     # int() itself refuses
    "hugedim": ["c1,2147483648,8,3,3,3,4,1,1,2,8"],
    "longname": ["c" * 200_000 + ",8,8,3,3,3,4,1,1,2,8"],           # beyond csv's field limit
    "name2k": ["c" * 2000 + ",8,8,3,3,3,4,1,1,2,8"],
    "dup": [GOOD_ROW, "c1,8,8,3,3,4,4,1,1,2,8"],
    "wbits27": ["c1,8,8,3,3,3,4,1,1,2.7,8"],
    "wbits17": ["c1,8,8,3,3,3,4,1,1,17,8"],
    "abits0": ["c1,8,8,3,3,3,4,1,1,2,0"],
    "negpad": ["c1,8,8,3,3,3,4,1,-1,2,8"],
    "stride0": ["c1,8,8,3,3,3,4,0,1,2,8"],
    "bigfilter": ["c1,2,2,5,5,3,4,1,0,2,8"],
    "text": ["c1,8,8,3,3,three,4,1,1,2,8"],
    "fewfields": ["c1,8,8,3"],
    "manyfields": [GOOD_ROW + ",1,conv,array,1,99"],
    "badop": ["c1,8,8,3,3,3,4,1,1,2,8,1,Pool!"],
    "runson": ["c1,8,8,3,3,3,4,1,1,2,8,1,conv,gpu"],
    "groups": ["c1,8,8,3,3,3,4,1,1,2,8,2"],
    "groupsbig": ["c1,8,8,3,3,3,4,1,1,2,8," + "7" * 30],
    "matmul3x3": ["c1,8,8,3,3,3,4,1,1,2,8,1,matmul"],
    "convbatch": ["c1,8,8,3,3,3,4,1,1,2,8,1,conv,array,4"],
    "headeronly": [],
}
# traces whose header goes on with the appended columns
EXTENDED = {"badop", "runson", "groups", "groupsbig", "matmul3x3", "convbatch"}
# name -> the .npz beside a copy of the ok trace's first row (None: raw bytes)
GOOD_A, GOOD_W = np.ones((64, 27), np.int64), np.zeros((27, 4), np.int64)
NPZ = {
    "npz_floats": {"c1/a": np.full((64, 27), 0.5), "c1/w": np.full((27, 4), 0.3)},
    "npz_wshape": {"c1/a": GOOD_A, "c1/w": np.zeros((5, 4), np.int64)},
    "npz_ashape": {"c1/a": np.ones((64, 9), np.int64), "c1/w": GOOD_W},
    "npz_arows0": {"c1/a": np.ones((0, 27), np.int64), "c1/w": GOOD_W},
    "npz_wonly": {"c1/w": GOOD_W},
    "npz_aonly": {"c1/a": GOOD_A},
    "npz_range": {"c1/a": GOOD_A, "c1/w": np.full((27, 4), 5, np.int64)},   # 2-bit: -1..1
    "npz_negact": {"c1/a": -GOOD_A, "c1/w": GOOD_W},
    "npz_bigact": {"c1/a": GOOD_A * 256, "c1/w": GOOD_W},
    "npz_objects": {"c1/a": np.array([{"x": 1}] * 3, dtype=object), "c1/w": GOOD_W},
}
NPZ_BYTES = {"npz_trunc": None, "npz_empty": b"", "npz_text": b"hello, not a zip\n",
             "npz_pickle": pickle.dumps({"c1/a": 1})}


def _write_trace(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / f"{name}.csv"
    header = TRACE_HEADER + (",groups,op,runs_on,batch" if name in EXTENDED else "")
    path.write_text("\n".join([header] + rows) + "\n")
    return path


def _table(folder: Path, name: str, rows, header=("name", "value", "unit", "source")) -> Path:
    path = folder / name
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def make(folder: Path) -> dict[str, str]:
    """Write every bad file into ``folder``; returns name -> path (as text)."""
    folder = Path(folder)
    made: dict[str, Path] = {}
    for name, rows in TRACES.items():
        made[name] = _write_trace(folder, name, rows)
    good = io.BytesIO()
    np.savez(good, **{"c1/a": GOOD_A, "c1/w": GOOD_W})
    for name, arrays in NPZ.items():
        made[name] = _write_trace(folder, name, [GOOD_ROW])
        if any(a.dtype == object for a in arrays.values()):
            np.savez(folder / f"{name}.npz", allow_pickle=True, **arrays)
        else:
            np.savez(folder / f"{name}.npz", **arrays)
    for name, data in NPZ_BYTES.items():
        made[name] = _write_trace(folder, name, [GOOD_ROW])
        raw = good.getvalue()[: len(good.getvalue()) // 2] if data is None else data
        (folder / f"{name}.npz").write_bytes(raw)
    (folder / "binary.csv").write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    (folder / "empty.csv").write_text("")
    (folder / "unknown_header.csv").write_text("a,b,c\n1,2,3\n")
    (folder / "a_dir.csv").mkdir()
    (folder / "a_file").write_text("x")
    made.update({n: folder / f for n, f in (("binary", "binary.csv"), ("empty", "empty.csv"),
                                            ("unknown_header", "unknown_header.csv"),
                                            ("a_dir", "a_dir.csv"), ("a_file", "a_file"))})
    made["missing"] = folder / "no_such_file.csv"

    # constants tables
    rows = list(csv.reader(open(TABLE, newline="")))[1:]
    made["table_swapped"] = _table(folder, "t_swapped.csv", [[r[0], r[2], r[1], r[3]]
                                                             for r in rows])
    made["table_name_value"] = _table(folder, "t_name_value.csv", [[r[1], r[0], r[2], r[3]]
                                                                   for r in rows])
    made["table_missing"] = _table(folder, "t_missing.csv", rows[1:])
    made["table_unknown"] = _table(folder, "t_unknown.csv", rows + [["dff_aera_um2", "4", "um2",
                                                                     "typo"]])
    made["table_twice"] = _table(folder, "t_twice.csv", rows + [rows[0]])
    for label, value in (("negative", "-1"), ("zero", "0"), ("inf", "inf"), ("nan", "nan"),
                         ("word", "lots"), ("huge", "1e400")):
        made[f"table_{label}"] = _table(folder, f"t_{label}.csv",
                                        [[r[0], value if i == 3 else r[1], r[2], r[3]]
                                         for i, r in enumerate(rows)])
    made["table_noheader"] = _table(folder, "t_noheader.csv", rows, header=None)
    made["table_headeronly"] = _table(folder, "t_headeronly.csv", [])
    (folder / "t_bad.yaml").write_text("a: [1, 2\n")
    (folder / "t_list.yaml").write_text("- 1\n- 2\n")
    (folder / "t_novalue.yaml").write_text("dff_area_um2:\n  unit: um2\n")
    made.update(table_yaml=folder / "t_bad.yaml", table_yaml_list=folder / "t_list.yaml",
                table_yaml_novalue=folder / "t_novalue.yaml")

    # accuracy CSVs: one row each, wrong in one cell
    good_row = dict(model="resnet20", dataset="cifar10", wbits="2", abits="8", widen="none",
                    width="1", teacher="none", scheme="", epochs="1", seed="0", top1_err="9",
                    source="measured")
    for label, change in (("inf", {"top1_err": "inf"}), ("negative", {"top1_err": "-50"}),
                          ("over100", {"top1_err": "150"}), ("text", {"top1_err": "good"}),
                          ("wbits27", {"wbits": "2.7"}), ("wbits64", {"wbits": "64"}),
                          ("abits0", {"abits": "0"}), ("width0", {"width": "0"}),
                          ("widthinf", {"width": "inf"})):
        row = {**good_row, **change}
        path = folder / f"acc_{label}.csv"
        path.write_text(ACCURACY_HEADER + "\n" + ",".join(row[c] for c in
                                                          ACCURACY_HEADER.split(",")) + "\n")
        made[f"acc_{label}"] = path
    (folder / "acc_header.csv").write_text(ACCURACY_HEADER + "\n")
    (folder / "acc_columns.csv").write_text("model,top1_err\nresnet20,9\n")
    made.update(acc_header=folder / "acc_header.csv", acc_columns=folder / "acc_columns.csv")

    # ONNX files that are not ONNX
    (folder / "text.onnx").write_text("not a protobuf at all\n")
    (folder / "empty.onnx").write_bytes(b"")
    made.update(onnx_text=folder / "text.onnx", onnx_empty=folder / "empty.onnx")
    return {name: str(path) for name, path in made.items()}
