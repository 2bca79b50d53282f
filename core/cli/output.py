"""What the command line prints: one JSON object per line on stdout, so scripts read it without parsing prose."""
from __future__ import annotations

import json
from typing import Any


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)
