"""Writing a benchmark's section into benchmarks/RESULTS.md, and what every section shares.

Rules the scripts in this folder follow:

- a figure that was not measured, or that does not apply to a row, is written as `NA`
  ("—"), never as 0: `cell(None)` gives it; a 0 in a table is a count that was taken;
- a column means one thing in every row, and the notes under a table say what is counted;
- every section says when, at which commit, on which machine (and, where it matters,
  with which command and in how long) it was measured: `provenance()`.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ROOT = RESULTS.parent.parent
NA = "—"  # not measured, or not applicable to this row


def cell(value: Any, spec: str = ",.0f", suffix: str = "") -> str:
    """`value` formatted with `spec`, or NA where it is None (not measured)."""
    if value is None:
        return NA
    return format(value, spec) + suffix


def commit(root: Path = ROOT) -> str:
    """`git rev-parse --short HEAD`, plus " + uncommitted changes" where a tracked file
    differs from it (RESULTS.md itself aside: it is what the scripts write)."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit (no git)"
    results = RESULTS.relative_to(root).as_posix()
    changed = [
        line[3:].split(" -> ")[-1].strip('"')
        for line in status.splitlines()
        if line and not line.startswith("??")
    ]
    dirty = any(path != results for path in changed)
    return sha + (" + uncommitted changes" if dirty else "")


def machine() -> str:
    """Architecture (CPU model where Linux says it), Python, and cores."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = f" ({line.split(':', 1)[1].strip()})"
                break
    except OSError:
        pass
    return (
        f"{platform.machine()}{cpu}, {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count() or '?'} cores"
    )


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def provenance(extra: str = "") -> str:
    """"Measured DATE at commit SHA on MACHINE" and `extra`, as one sentence."""
    return f"Measured {today()} at commit {commit()} on {machine()}{'; ' + extra if extra else ''}."


def record(head: str, section: str, path: Path | None = None) -> None:
    """Put `section` (which starts with `head`, a '## ' heading) in place of the old one.

    The old section is the one whose heading line starts with `head`; it runs to the next
    '## ' heading line. A section not there yet goes at the end. Sections are kept one
    blank line apart.
    """
    path = path or RESULTS
    if not head.startswith("## ") or not section.startswith(head):
        raise ValueError(f"the section must start with its '## ' heading {head!r}")
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(head)), None)
    body = section.rstrip("\n") + "\n"
    if start is None:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        before = "".join(lines[:start]).rstrip("\n")
        after = "".join(lines[end:])
        text = (before + "\n\n" if before else "") + body + ("\n" + after if after else "")
    path.write_text(text, encoding="utf-8")
