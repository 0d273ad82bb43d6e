"""The code blocks of docs/integration.md that the tests run, found by their markers."""

from __future__ import annotations

import re

from .wheel import ROOT

GUIDE = ROOT / "docs" / "integration.md"


def guide_block(marker: str) -> str:
    """The ```python block right after ``<!-- fresh-host: MARKER -->`` in the guide."""
    text = GUIDE.read_text()
    found = re.search(
        rf"<!-- fresh-host: {re.escape(marker)} -->\n```python\n(.*?)\n```", text, re.S
    )
    assert found, f"docs/integration.md has no block marked {marker!r}"
    return found.group(1) + "\n"
