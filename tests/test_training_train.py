"""The training command on synthetic data: loss falls, files written, schemes, user errors."""
import csv
import gzip
import struct

import numpy as np
import pytest
import torch

from accelsim.workload import read_workload, resnet_cifar
from training import data, models
from training.train import ACCURACY_COLUMNS, main, parse_args, run

torch.set_num_threads(1)
FAST = ["--dataset", "synthetic", "--model", "resnet20", "--threads", "1"]


@pytest.fixture(scope="module")
def fp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "fp"
    result = run(parse_args(FAST + ["--epochs", "4", "--out", str(out)]), log=lambda s: None)
    return result


def test_short_run_learns_and_writes_everything(fp_run):
    losses = [e.loss for e in fp_run.history]
    assert losses[-1] < losses[0]
    assert fp_run.test_err < 60  # 4 classes: chance is 75%
    out = fp_run.out
    for name in ("model.pt", "model.json", "trace.csv", "trace.npz"):
        assert (out / name).is_file(), name
    with open(out.parent / "accuracy.csv") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == ACCURACY_COLUMNS
    row = dict(zip(rows[0], rows[1]))
    assert row["source"] == "measured" and row["scheme"] == "none" and row["wbits"] == "32"
    assert float(row["top1_err"]) == pytest.approx(fp_run.test_err, abs=0.01)
    assert read_workload(out / "trace.csv").layers == resnet_cifar(
        20, in_channels=1, image_size=12, num_classes=4, wbits=32, abits=32,
        full_precision_ends=True).layers


def test_quantized_run_with_scheme_b_and_c(fp_run, tmp_path, capsys):
    teacher = str(fp_run.out / "model.pt")
    table = tmp_path / "acc.csv"
    for scheme, extra in (("B", []), ("C", ["--init", teacher])):
        code = main(FAST + ["--wbits", "2", "--abits", "8", "--epochs", "1", "--scheme", scheme,
                            "--teacher", teacher, "--out", str(tmp_path / scheme),
                            "--accuracy-csv", str(table)] + extra)
        assert code == 0
    printed = capsys.readouterr().out
    assert "epoch" in printed and "test_err" in printed and "zero weights" in printed
    rows = list(csv.DictReader(open(table)))
    assert [r["scheme"] for r in rows] == ["B", "C"]
    assert all(r["teacher"] == "resnet20" and r["wbits"] == "2" for r in rows)
    npz = np.load(tmp_path / "B" / "trace.npz")
    assert set(np.unique(npz["stage1.block1.conv1/w"])) <= {-1, 0, 1}


def test_scheme_a_trains_teacher_and_student(tmp_path, monkeypatch):
    from training import train as train_module

    start = {}
    build_teacher = train_module._teacher

    def remembered(cfg, shape):
        teacher = build_teacher(cfg, shape)
        start.update({k: v.clone() for k, v in teacher.state_dict().items()})
        return teacher

    monkeypatch.setattr(train_module, "_teacher", remembered)
    result = run(parse_args(FAST + ["--wbits", "4", "--abits", "4", "--epochs", "1",
                                    "--scheme", "A", "--teacher", "resnet20",
                                    "--subset", "128", "--out", str(tmp_path / "a")]),
                 log=lambda s: None)
    assert (result.out / "teacher.pt").is_file()
    teacher = models.load(result.out / "teacher.pt")
    assert teacher.config.wbits == 32
    # The teacher was trained with the student: its weights moved from where they started.
    for name in ("conv1.weight", "stage1.block1.conv1.weight", "fc.weight"):
        assert not torch.equal(teacher.state_dict()[name], start[name]), name


@pytest.mark.parametrize("argv,message", [
    (["--wbits", "0"], "--wbits"),
    (["--widen", "half"], "--widen"),
    (["--scheme", "B"], "needs --teacher"),
    (["--scheme", "C", "--teacher", "nowhere.pt"], "--init"),
    (["--teacher", "x.pt"], "--teacher needs --scheme"),
    (["--dataset", "fashion-mnist", "--data-dir", "/nonexistent"], "apt-get install dataset-fashion-mnist"),
    (["--dataset", "cifar10"], "--data-dir"),
    (["--device", "gpu0"], "--device 'gpu0'"),
])
def test_user_errors_are_one_line_with_status_2(argv, message, capsys, tmp_path):
    argv = ["--dataset", "synthetic"] + argv + ["--out", str(tmp_path / "x")]
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_idx_reader_and_subset(tmp_path):
    images = np.arange(5 * 28 * 28, dtype=np.uint32).reshape(5, 28, 28).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    for split in ("train", "t10k"):
        with gzip.open(tmp_path / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">4B3I", 0, 0, 8, 3, 5, 28, 28) + images.tobytes())
        with gzip.open(tmp_path / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">4BI", 0, 0, 8, 1, 5) + labels.tobytes())
    ds = data.load("fashion-mnist", str(tmp_path))
    assert ds.train.images.shape == (5, 1, 28, 28) and ds.in_channels == 1
    assert np.array_equal(ds.test.images[:, 0].numpy(), images)
    assert ds.train.labels.tolist() == [3, 1, 4, 1, 5]
    sub = data.load("fashion-mnist", str(tmp_path), subset=3, seed=1)
    assert len(sub.train) == 3 and len(sub.test) == 5
    assert torch.equal(sub.train.labels, data.load("fashion-mnist", str(tmp_path), 3, 1).train.labels)


def test_batches_are_in_unit_range_and_augmentation_keeps_pixels():
    split = data.synthetic(n_train=16).train
    x, y = next(data.batches(split, 16))
    assert x.shape == (16, 1, 12, 12) and x.min() >= 0 and x.max() <= 1
    xa, _ = next(data.batches(split, 16, augment=True, seed=3))
    assert xa.shape == x.shape
    # A crop only moves pixels (or fills zeros), so each image's value set can only lose members.
    for a, b in zip(xa, x):
        assert set(a.unique().tolist()) <= set(b.unique().tolist()) | {0.0}


def test_a_bad_accuracy_csv_stops_the_run_before_training(tmp_path, capsys):
    table = tmp_path / "accuracy.csv"
    table.write_text("a,b\n1,2\n")
    code = main(FAST + ["--epochs", "1", "--out", str(tmp_path / "x"),
                        "--accuracy-csv", str(table)])
    err = capsys.readouterr().err
    assert code == 2 and "its header is not" in err
    assert not (tmp_path / "x" / "model.pt").exists()   # no epochs were spent
    assert table.read_text() == "a,b\n1,2\n"


# ----------------------------------------------------------------------------- depth and speed

def _loss_ratio(quantizer: str, steps: int = 60) -> float:
    """Mean loss of the last 5 steps over the first 5: ResNet-56 at width 0.25, fp32 weights,
    8-bit activations, synthetic data (4 classes), SGD at lr 0.05."""
    import statistics

    import torch.nn.functional as F

    torch.manual_seed(0)
    split = data.synthetic(n_train=1024, size=12, num_classes=4).train
    model = models.build("resnet56", 0.25, in_channels=1, num_classes=4, image_size=12,
                         abits=8, quantizer=quantizer)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    losses = []
    while len(losses) < steps:
        for x, y in data.batches(split, 32, shuffle=True, seed=len(losses)):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return statistics.mean(losses[-5:]) / statistics.mean(losses[:5])


def test_a_deep_quantized_resnet_learns_with_the_default_quantizer():
    """Issue 10's failure: with WRPN's fixed [0, 1] clip, ResNet-56 with 8-bit activations does
    not learn (the gradient grows ~1.7x per block backwards); the default quantizer does."""
    from training.quant import DEFAULT_ACT_QUANTIZER
    assert _loss_ratio(DEFAULT_ACT_QUANTIZER) < 0.7
    assert _loss_ratio("wrpn") > 0.9   # the paper's clip, kept as an option, fails here


def test_the_gpu_path_runs_on_the_cpu(tmp_path):
    """channels_last and bf16 autocast, as a GPU run uses them, through the same loop."""
    result = run(parse_args(FAST + ["--wbits", "2", "--abits", "8", "--epochs", "2",
                                    "--channels-last", "--amp", "bf16", "--eval-batch-size", "64",
                                    "--out", str(tmp_path / "g")]), log=lambda s: None)
    assert result.history[-1].loss < result.history[0].loss
    assert result.test_err < 60
    meta = models.load_config(result.out / "model.pt")
    assert meta["run"]["amp"] == "bf16" and meta["model"]["quantizer"] == "pact"
    npz = np.load(result.out / "trace.npz")
    assert set(np.unique(npz["stage1.block1.conv1/w"])) <= {-1, 0, 1}
    assert float(npz["stage1.block1.conv1/a_scale"]) > 0


def test_batches_on_a_device_read_nothing_back(monkeypatch):
    """No host sync inside an epoch: the batcher never turns a tensor into a Python number."""
    split = data.synthetic(n_train=64).train
    reads = []
    for name in ("item", "tolist", "__bool__", "__int__", "__float__", "nonzero"):
        original = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name, lambda self, *a, _o=original, _n=name, **k:
                            (reads.append(_n), _o(self, *a, **k))[1])
    batches = list(data.batches(split, 16, shuffle=True, augment=True, seed=1))
    monkeypatch.undo()
    assert len(batches) == 4 and not reads


def test_an_old_accuracy_table_gains_the_quantizer_column(tmp_path):
    from training.train import append_accuracy_row
    table = tmp_path / "accuracy.csv"
    table.write_text("model,dataset,wbits,abits,widen,width,teacher,scheme,epochs,seed,top1_err,"
                     "source\nresnet20,fashion-mnist,2,8,none,1,none,none,3,0,12.5,measured\n")
    row = dict(zip(ACCURACY_COLUMNS, ["resnet20", "fashion-mnist", "2", "8", "none", "1", "none",
                                      "none", "3", "1", "9.5", "measured", "pact"]))
    append_accuracy_row(table, row)
    rows = list(csv.DictReader(open(table)))
    assert [r["quantizer"] for r in rows] == ["wrpn", "pact"]
    assert [r["top1_err"] for r in rows] == ["12.5", "9.5"]


def test_a_policy_file_trains_a_mixed_precision_network(tmp_path):
    from accelsim.policy import write_policies
    from accelsim.workload import read_workload

    policies = tmp_path / "policies.csv"
    write_policies({"mp1": {"stage1.block1.conv1": (1, 4), "stage3.block3.conv2": (8, 8)},
                    "mp2": {"fc": (8, 8)}}, policies)
    result = run(parse_args(FAST + ["--wbits", "2", "--abits", "8", "--epochs", "1",
                                    "--layer-bits", str(policies), "--policy", "mp1",
                                    "--out", str(tmp_path / "m")]), log=lambda s: None)
    layers = {l.name: l for l in read_workload(result.out / "trace.csv").layers}
    assert (layers["stage1.block1.conv1"].wbits, layers["stage1.block1.conv1"].abits) == (1, 4)
    assert (layers["stage2.block1.conv1"].wbits, layers["stage2.block1.conv1"].abits) == (2, 8)
    row = list(csv.DictReader(open(tmp_path / "accuracy.csv")))[0]
    assert row["policy"] == "mp1" and row["wbits"] == "2"
    for argv, message in ((["--layer-bits", str(policies)], "holds 2 policies"),
                          (["--layer-bits", str(policies), "--policy", "x"], "no policy 'x'"),
                          (["--policy", "mp1"], "--policy names a policy")):
        code = main(FAST + argv + ["--out", str(tmp_path / "bad")])
        assert code == 2


def _cifar_folder(tmp_path, batch_bytes=None):
    import pickle
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": b"x", b"labels": list(rng.integers(0, 10, 4)),
                 b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                 b"filenames": [b"a.png"] * 4}
        (root / name).write_bytes(pickle.dumps(batch, protocol=2))
    if batch_bytes is not None:
        (root / "data_batch_3").write_bytes(batch_bytes)
    return tmp_path


def test_cifar_batches_load_and_a_crafted_pickle_runs_nothing(tmp_path):
    import pickle
    ds = data.load("cifar10", str(_cifar_folder(tmp_path / "good")))
    assert ds.train.images.shape == (20, 3, 32, 32) and len(ds.test) == 4
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os
            return (os.system, (f"touch {marker}",))

    evil = pickle.dumps({b"data": Evil(), b"labels": [0]}, protocol=2)
    with pytest.raises(data.DataError, match="posix.system|os.system"):
        data.load("cifar10", str(_cifar_folder(tmp_path / "evil", evil)))
    assert not marker.exists()
    for bad, message in ((b"", "cannot be read"), (b"\x80\x02]q\x00.", "pickled dict"),
                         (pickle.dumps({b"data": [1, 2]}), "not a CIFAR-10 batch")):
        with pytest.raises(data.DataError, match=message):
            data.load("cifar10", str(_cifar_folder(tmp_path / f"bad{len(bad)}", bad)))
