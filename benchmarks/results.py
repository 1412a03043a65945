"""Writing a benchmark's section into benchmarks/RESULTS.md, replacing its last one."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def record(head: str, section: str) -> None:
    """Put `section` (which starts with `head`, a '## ' heading) in place of the old one."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    if head in text:
        start = text.index(head)
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")
