"""The contract every command line keeps on bad input (README, "Reliability"): exit status 2,
exactly one line of ours on stderr naming the problem, no traceback, and no file or folder
left behind.  ``expect_clean_error`` checks one case; the tables of cases live in the
tests/test_bad_inputs_*.py files."""
from __future__ import annotations

import os
from pathlib import Path


def tree(root: Path) -> set[str]:
    """Every path under root (files and folders), relative."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def expect_clean_error(main, argv: list[str], names: str, workdir: Path, capsys) -> str:
    """Run ``main(argv)`` in ``workdir``; assert the contract; return the error line.
    ``names``: text the line must contain (the flag or file at fault)."""
    before = tree(workdir)
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        try:
            code = main(argv)
        except SystemExit as stop:   # a command that exits instead of returning
            code = stop.code
    finally:
        os.chdir(cwd)
    out = capsys.readouterr()
    lines = [line for line in out.err.splitlines() if line.strip()]
    assert code == 2, f"{argv}: exit status {code}, stderr {out.err[-500:]!r}"
    assert "Traceback" not in out.err, f"{argv}: {out.err[-800:]}"
    assert len(lines) == 1, f"{argv}: {len(lines)} lines on stderr: {out.err[-800:]!r}"
    assert names.lower() in lines[0].lower(), f"{argv}: {lines[0]!r} does not name {names!r}"
    assert tree(workdir) == before, f"{argv}: left {sorted(tree(workdir) - before)}"
    return lines[0]


ROOT = Path(__file__).resolve().parents[1]


def expect_clean_error_subprocess(module: str, argv: list[str], names: str,
                                  workdir: Path) -> str:
    """The same contract for ``python -m module argv`` as a real process (its own interpreter,
    its own stderr), run in ``workdir``; returns the error line."""
    import subprocess
    import sys

    before = tree(workdir)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    done = subprocess.run([sys.executable, "-m", module, *argv], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, f"{argv}: exit status {done.returncode}: {done.stderr[-500:]}"
    assert "Traceback" not in done.stderr, f"{argv}: {done.stderr[-800:]}"
    assert len(lines) == 1, f"{argv}: {len(lines)} lines on stderr: {done.stderr[-800:]!r}"
    assert names.lower() in lines[0].lower(), f"{argv}: {lines[0]!r} does not name {names!r}"
    assert tree(workdir) == before, f"{argv}: left {sorted(tree(workdir) - before)}"
    return lines[0]


def resolve(argv: list[str], files: dict[str, str]) -> list[str]:
    """A case's argv with ``{name}`` placeholders replaced by the bad files' paths, so that the
    tables can be written (and parametrized) before the files exist."""
    return [arg.format(**files) if "{" in arg else arg for arg in argv]
