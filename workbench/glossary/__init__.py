"""Glossaries: a newsroom's style book applied to translations (``--glossary FILE``).

``entries`` holds the data model, ``read`` the TSV, CSV and TBX readers, ``match`` the
matching and checking rules, ``apply`` what the translation pipeline does with them (segment
keys, the chat prompt's terms, the per-document record of applied and missed terms).
"""

from __future__ import annotations

from workbench.glossary.entries import Entry, Glossary, GlossaryError, Rule
from workbench.glossary.read import load

__all__ = ["Entry", "Glossary", "GlossaryError", "Rule", "load"]
