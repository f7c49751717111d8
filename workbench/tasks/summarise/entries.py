"""Whole-summary cache entries: what is stored, what a stored one must hold, reading it back."""

from __future__ import annotations

from typing import Any

from workbench.results import SummaryResult


def to_entry(result: SummaryResult) -> dict[str, Any]:
    """The stored form of a fresh summary."""
    return {
        "text": result.text,
        "rounds": result.rounds,
        "chunks": result.chunks,
        "retries": result.retries,
        "output_lang": result.output_lang,
        "lang_mismatch": result.lang_mismatch,
        "notes": result.notes,
    }


def valid_entry(entry: dict[str, Any]) -> bool:
    """Whether a stored entry holds a summary (a damaged one is summarised again)."""
    return (
        isinstance(entry.get("text"), str)
        and isinstance(entry.get("rounds"), int)
        and isinstance(entry.get("chunks"), int)
        and isinstance(entry.get("notes"), list)
    )


def from_entry(entry: dict[str, Any], result: SummaryResult) -> None:
    """A valid stored entry copied into the result."""
    result.text = entry["text"]
    result.rounds, result.chunks = entry["rounds"], entry["chunks"]
    result.retries = int(entry.get("retries") or 0)
    result.output_lang = entry.get("output_lang")
    result.lang_mismatch = bool(entry.get("lang_mismatch"))
    result.notes = [str(n) for n in entry["notes"]]
