"""Real recorded Clever responses (tests/fixtures/clever-recorded, MIT; see SOURCES.md there)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).parent / "fixtures" / "clever-recorded"


def interactions(name: str) -> list[dict[str, Any]]:
    """The request/response pairs of one cassette, e.g. interactions("client__users_next")."""
    return json.loads((RECORDED / f"{name}.json").read_text())["interactions"]


def body(name: str, index: int = 0) -> Any:
    return interactions(name)[index]["response"]["body"]


def records(name: str) -> list[dict[str, Any]]:
    """Every record served by a cassette's list responses, in order."""
    out: list[dict[str, Any]] = []
    for interaction in interactions(name):
        data = interaction["response"]["body"]["data"]
        out.extend(item["data"] for item in data)
    return out
