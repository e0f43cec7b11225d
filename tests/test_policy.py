"""Policy files (per-layer widths): round trip, errors naming the line, applied to a workload."""
import pytest

from accelsim.policy import apply_policy, read_policies, read_policy, write_policies
from accelsim.workload import builtin


def test_round_trip_and_apply(tmp_path):
    path = tmp_path / "p.csv"
    policies = {"a": {"conv1": (8, 8), "stage1.block1.conv1": (1, 2)}, "b": {"fc": (4, 4)}}
    write_policies(policies, path)
    assert read_policies(path) == policies
    assert read_policy(path, "b") == ("b", {"fc": (4, 4)})
    net = apply_policy(builtin("resnet20", wbits=2, abits=8), policies["a"])
    widths = {layer.name: (layer.wbits, layer.abits) for layer in net.layers}
    assert widths["conv1"] == (8, 8) and widths["stage1.block1.conv1"] == (1, 2)
    assert widths["stage1.block1.conv2"] == (2, 8) and widths["fc"] == (2, 8)
    # on an array of other widths the layers the policy sets keep theirs; the rest follow it
    on_4x4 = {layer.name: (layer.wbits, layer.abits) for layer in net.at_widths(4, 4).layers}
    assert on_4x4["conv1"] == (8, 8) and on_4x4["stage1.block1.conv1"] == (1, 2)
    assert on_4x4["stage1.block1.conv2"] == (4, 4)


@pytest.mark.parametrize("text,message", [
    ("a,b\n", "header must be policy,layer,wbits,abits"),
    ("policy,layer,wbits,abits\np,conv1,3.5,8\n", "line 2"),
    ("policy,layer,wbits,abits\np,conv1,64,8\n", "line 2: wbits=64"),
    ("policy,layer,wbits,abits\np,conv1,2,8\np,conv1,4,8\n", "line 3: policy 'p' sets layer"),
    ("policy,layer,wbits,abits\np,conv1,2\n", "line 2: 3 cells"),
])
def test_bad_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_policies(path)


def test_a_policy_for_another_network_is_refused():
    with pytest.raises(ValueError, match="does not have: stage4.block1.conv1"):
        apply_policy(builtin("resnet20"), {"stage4.block1.conv1": (2, 8)})
