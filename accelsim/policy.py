"""Per-layer width assignments (mixed precision) as files, and their effect on a workload.

A policy file is a CSV with the header ``policy,layer,wbits,abits`` (accelsim.formats), one row
per layer a policy sets; many policies share one file, each named by its id.  Training builds
and trains a network with one (``python -m training.train --layer-bits FILE --policy ID``) and
records the id in the accuracy table's ``policy`` column; the simulator prices a workload with
one applied (``apply_policy``), so a point's cost and its measured accuracy meet by that id.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import replace

from .fileio import write_atomic
from .formats import POLICY_COLUMNS, check_bits
from .workload import Workload

Policy = dict[str, tuple[int, int]]   # layer name -> (wbits, abits)


def read_policies(path: str | os.PathLike) -> dict[str, Policy]:
    """Every policy of a file, by id; ValueError naming the file and line of a bad row."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"policy file {str(path)!r}: cannot be read ({err})") from None
    if not rows or tuple(c.strip() for c in rows[0]) != POLICY_COLUMNS:
        raise ValueError(f"policy file {str(path)!r}: its header must be "
                         f"{','.join(POLICY_COLUMNS)}")
    policies: dict[str, Policy] = {}
    for line, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(POLICY_COLUMNS):
            raise ValueError(f"policy file {str(path)!r} line {line}: {len(row)} cells, "
                             f"expected {len(POLICY_COLUMNS)}")
        policy, layer, wbits, abits = (cell.strip() for cell in row)
        try:
            bits = (check_bits(int(wbits), "wbits"), check_bits(int(abits), "abits"))
        except ValueError as err:
            raise ValueError(f"policy file {str(path)!r} line {line}: {err}") from None
        if not policy or not layer:
            raise ValueError(f"policy file {str(path)!r} line {line}: empty policy or layer")
        if layer in policies.setdefault(policy, {}):
            raise ValueError(f"policy file {str(path)!r} line {line}: policy {policy!r} sets "
                             f"layer {layer!r} twice")
        policies[policy][layer] = bits
    return policies


def read_policy(path: str | os.PathLike, policy: str | None = None) -> tuple[str, Policy]:
    """One policy of a file: the one named, or the file's only one."""
    policies = read_policies(path)
    if policy is None:
        if len(policies) != 1:
            raise ValueError(f"policy file {str(path)!r} holds {len(policies)} policies; "
                             "name one (--policy ID)")
        policy = next(iter(policies))
    if policy not in policies:
        raise ValueError(f"policy file {str(path)!r} has no policy {policy!r} (it has "
                         f"{', '.join(sorted(policies)[:5])}{', ...' if len(policies) > 5 else ''})")
    return policy, policies[policy]


def write_policies(policies: dict[str, Policy], path: str | os.PathLike) -> None:
    """Write policies (id -> layer -> (wbits, abits)) as one file, atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(POLICY_COLUMNS)
    for policy, layers in policies.items():
        for layer, (wbits, abits) in layers.items():
            writer.writerow([policy, layer, wbits, abits])
    write_atomic(path, buf.getvalue())


def apply_policy(workload: Workload, policy: Policy) -> Workload:
    """The workload with each layer the policy names at the policy's widths."""
    names = {layer.name for layer in workload.layers}
    unknown = sorted(set(policy) - names)
    if unknown:
        raise ValueError(f"policy names layers {workload.name!r} does not have: "
                         f"{', '.join(unknown[:5])}")
    layers = tuple(replace(layer, wbits=policy[layer.name][0], abits=policy[layer.name][1])
                   if layer.name in policy else layer for layer in workload.layers)
    # a layer the policy sets keeps its widths on any array
    follows = tuple(f and layer.name not in policy
                    for f, layer in zip(workload.array_widths, workload.layers))
    return replace(workload, layers=layers, array_widths=follows)
