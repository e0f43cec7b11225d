"""Bad input to the training and experiments command lines: each case one clean line, exit
status 2, no traceback, nothing left behind (tests/badinput.py)."""
import io
import json
import pickle
import zipfile

import pytest
import torch

from badinput import expect_clean_error
from experiments import quantizer_choice, report, reproduce, sensitivity
from training import footprint, models
from training import trace as trace_cli
from training.train import main as train_main

torch.set_num_threads(1)
SYN = ["--dataset", "synthetic", "--epochs", "1", "--width", "0.25"]


class Evil:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned > pwned.txt",))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Checkpoints good and bad, and other files, in a folder outside each case's workdir."""
    d = tmp_path_factory.mktemp("inputs")
    good = models.build("resnet20", 0.25, in_channels=1, num_classes=4, image_size=12)
    models.save(good, d / "good.pt")
    state = (d / "good.pt").read_bytes()
    meta = (d / "good.json").read_text()

    def checkpoint(name, data=state, metadata=meta):
        (d / f"{name}.pt").write_bytes(data)
        (d / f"{name}.json").write_text(metadata)
        return str(d / f"{name}.pt")

    evil = io.BytesIO()
    torch.save({"conv1.weight": Evil()}, evil, _use_new_zipfile_serialization=True)
    wrong = models.build("resnet32", 0.25, in_channels=1, num_classes=4, image_size=12)
    buf = io.BytesIO()
    torch.save(wrong.state_dict(), buf)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("x", "not a state dict")
    ckpt = {
        "empty": checkpoint("empty", b""),
        "truncated": checkpoint("truncated", state[: len(state) // 2]),
        "text": checkpoint("text", b"hello, I am not a checkpoint\n"),
        "pickle": checkpoint("pickle", pickle.dumps({"a": Evil()})),
        "evil_zip": checkpoint("evil_zip", evil.getvalue()),
        "zip": checkpoint("zip", zipped.getvalue()),
        "wrong_shape": checkpoint("wrong_shape", buf.getvalue()),
        "bad_json": checkpoint("bad_json", metadata="{not json"),
        "json_list": checkpoint("json_list", metadata="[1, 2]"),
        "json_model_str": checkpoint("json_model_str", metadata='{"model": "resnet20"}'),
        "json_bad_field": checkpoint("json_bad_field", metadata=json.dumps(
            {"model": {"name": "resnet20", "width": "wide"}})),
        "json_unknown_model": checkpoint("json_unknown_model", metadata=json.dumps(
            {"model": {"name": "resnet21"}})),
        "json_bits": checkpoint("json_bits", metadata=json.dumps(
            {"model": {**json.loads(meta)["model"], "wbits": 3.5}})),
    }
    (d / "binary.csv").write_bytes(b"\xff\xfe\x00garbage\x00")
    (d / "header.csv").write_text("a,b\n1,2\n")
    (d / "a_file").write_text("x")
    (d / "policies.csv").write_text("policy,layer,wbits,abits\np,conv1,2,8\nq,fc,2,8\n")
    (d / "bad_policy.csv").write_text("layer,bits\n")
    return dict(dir=d, ckpt=ckpt, good=str(d / "good.pt"))


def train_cases(f):
    d, c = f["dir"], f["ckpt"]
    cases = []
    for flag in ("--wbits", "--abits"):
        cases += [([flag, v], flag) for v in ("0", "17", "33", "-1", "x", "2.5", "64",
                                               "99999999999999999999999")]
    cases += [(["--width", v], "--width") for v in ("0", "-1", "inf", "nan", "100000", "abc",
                                                   "1e400")]
    for flag in ("--batch-size", "--eval-batch-size"):
        cases += [([flag, v], flag) for v in ("0", "-5", "1000000000", "1.5")]
    cases += [(["--epochs", v], "--epochs") for v in ("0", "-1", "1000000")]
    cases += [(["--lr", v], "--lr") for v in ("-1", "0", "inf", "nan", "100")]
    cases += [(["--weight-decay", v], "--weight-decay") for v in ("-1", "inf", "2")]
    cases += [(["--seed", v], "--seed") for v in ("-1", "99999999999999999999999",
                                                 str(2 ** 32), "x")]
    cases += [(["--subset", v], "--subset") for v in ("0", "-3")]
    cases += [(["--threads", v], "--threads") for v in ("0", "-2", "100000")]
    cases += [(["--device", v], "--device") for v in ("gpu0", "meta", "cuda:0", "xyz:1", "")]
    cases += [(["--amp", "fp16"], "--amp"), (["--quantizer", "lsq"], "--quantizer"),
              (["--widen", "half"], "--widen"), (["--model", "resnet21"], "--model"),
              (["--scheme", "D"], "--scheme"), (["--scheme", "B"], "--teacher"),
              (["--scheme", "C"], "--init"), (["--teacher", "x.pt"], "--teacher"),
              (["--teacher", str(d / "nowhere.pt"), "--scheme", "B"], "--teacher"),
              (["--init", str(d / "nowhere.pt")], "--init")]
    cases += [([flag, v], flag) for flag in ("--alpha", "--beta", "--gamma")
              for v in ("-1", "inf", "nan")]
    cases += [(["--temperature", v], "--temperature") for v in ("0", "-1", "inf")]
    for name, path in c.items():
        cases.append((["--init", path], "--init"))
        cases.append((["--scheme", "B", "--teacher", path], "--teacher"))
    cases += [(["--accuracy-csv", str(d)], "--accuracy-csv"),
              (["--accuracy-csv", str(d / "binary.csv")], "binary.csv"),
              (["--accuracy-csv", str(d / "header.csv")], "header"),
              (["--accuracy-csv", str(d / "a_file" / "acc.csv")], "--accuracy-csv"),
              (["--out", str(d / "a_file" / "run")], "--out"),
              (["--out", str(d / "a_file")], "--out"),
              (["--layer-bits", str(d / "none.csv")], "--layer-bits"),
              (["--layer-bits", str(d / "bad_policy.csv")], "header"),
              (["--layer-bits", str(d / "policies.csv")], "2 policies"),
              (["--layer-bits", str(d / "policies.csv"), "--policy", "zz"], "zz"),
              (["--policy", "p"], "--policy"),
              (["--module", "no_such_pkg:build"], "--module"),
              (["--module", "json"], "--module"),
              (["--module", "json:nothing"], "--module"),
              (["--dataset", "cifar10"], "--data-dir"),
              (["--dataset", "cifar10", "--data-dir", str(d)], "data_batch_1"),
              (["--dataset", "fashion-mnist", "--data-dir", str(d / "none")], "fashion-mnist"),
              (["--dataset", "imagenet"], "--dataset"),
              (["--frobnicate"], "--frobnicate")]
    return cases


def test_training_train_bad_inputs(files, tmp_path, capsys):
    cases = train_cases(files)
    assert len(cases) >= 120
    for k, (argv, names) in enumerate(cases):
        work = tmp_path / f"case{k}"
        work.mkdir()
        expect_clean_error(train_main, SYN + argv + (["--out", "run"] if "--out" not in argv
                                                    else []), names, work, capsys)
        assert not (work / "pwned.txt").exists()


def other_cases(f):
    d = f["dir"]
    return [
        (footprint.main, ["--models", "resnet21"], "--models"),
        (footprint.main, ["--models", ""], "--models"),
        (footprint.main, ["--batches", "0"], "--batches"),
        (footprint.main, ["--batches", "x,8"], "--batches"),
        (footprint.main, ["--batches", "99999999999"], "--batches"),
        (footprint.main, ["--wbits", "0"], "--wbits"),
        (footprint.main, ["--abits", "32"], "--abits"),
        (footprint.main, ["--models", "resnet20", "--out", str(d / "a_file")], "--out"),
        (footprint.main, ["--models", "resnet20", "--out", str(d / "a_file" / "x")], "--out"),
        (reproduce.main, ["--preset", "huge"], "--preset"),
        (reproduce.main, ["--preset", "tiny", "--jobs", "0"], "--jobs"),
        (reproduce.main, ["--preset", "tiny", "--threads", "0"], "--threads"),
        (reproduce.main, ["--preset", "tiny", "--threads", "100000"], "--threads"),
        (reproduce.main, ["--preset", "tiny", "--out", str(d / "a_file")], "--out"),
        (reproduce.main, ["--preset", "tiny", "--out", str(d / "a_file" / "x")], "--out"),
        (reproduce.main, ["--preset", "quick", "--dataset", "cifar10", "--out", "r"],
         "--data-dir"),
        (reproduce.main, ["--dataset", "imagenet"], "--dataset"),
        (report.main, [str(d / "none")], "accuracy.csv"),
        (report.main, [], "results"),
        (sensitivity.main, ["--reference", str(d / "none.pt")], "--reference"),
        (sensitivity.main, ["--reference", f["good"], "--sample", "-1"], "--sample"),
        (sensitivity.main, ["--reference", f["ckpt"]["bad_json"]], "--reference"),
        (sensitivity.main, [], "--reference"),
        (quantizer_choice.main, ["--out", str(d / "a_file" / "x.csv")], "--out"),
        (trace_cli.main, ["--model", "resnet20"], "--out"),
        (trace_cli.main, ["--model", "resnet20", "--out", "t.csv"], "--input"),
        (trace_cli.main, ["--model", "resnet20", "--out", "t.csv", "--input", "1,x"], "--input"),
        (trace_cli.main, ["--module", "no_such:build", "--input", "1,3,8,8", "--out", "t.csv"],
         "--module"),
        (trace_cli.main, ["--model", "resnet20", "--input", "1,3,32,32", "--out", "t.csv",
                          "--wbits", "0"], "--wbits"),
    ]


def test_other_training_and_experiments_commands(files, tmp_path, capsys):
    for k, (main, argv, names) in enumerate(other_cases(files)):
        work = tmp_path / f"case{k}"
        work.mkdir()
        expect_clean_error(main, argv, names, work, capsys)
