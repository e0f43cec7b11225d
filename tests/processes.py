"""Child processes of a test's subprocess, and which of them outlive it (the kill tests)."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    """The process ids whose parent is ``pid``."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def survivors(pids: list[int], within_s: float = 10) -> list[int]:
    """Those of ``pids`` still running (not zombies) after up to ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()
                 and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
        time.sleep(0.1)
    return alive
