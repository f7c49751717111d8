"""A glossary (a newsroom's style book) as data: entries, their terms per language, and the
rules one language pair takes from them.

An entry is one concept with its terms per language. Each language's terms are ordered: the
first is the *preferred* term (what a translation into that language must use, and what a
placeholder is restored as), the others *admitted* forms (inflected forms, accepted
spellings); *deprecated* forms ("Kiev") are matched in a source but never accepted in a
translation. A *keep* entry (do not translate: a party's own name, an acronym) is the same term
in every language: it is matched in a source of any language and must come out as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.errors import WorkbenchError

#: Bumped whenever matching or checking changes what a glossary does to a translation (it is
#: part of the glossary's hash, so of every key a glossary contributes to).
MATCH_VERSION = 1
#: How an entry's source terms are compared: ``auto`` (a term with a capital letter as
#: written, one in lower case in any case), or always ``sensitive`` / ``insensitive``.
CASES = ("auto", "sensitive", "insensitive")


class GlossaryError(WorkbenchError):
    """A glossary file cannot be read or is malformed (the message names the file and line)."""


@dataclass(frozen=True, eq=False)
class Entry:
    """One concept: its terms per language (preferred first), how it is matched, and a note."""

    terms: dict[str, tuple[str, ...]]  # language -> preferred term, then admitted forms
    deprecated: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keep: bool = False
    case: str = "auto"
    note: str = ""
    line: int = 0  # where the entry starts in its file (for messages)

    def data(self) -> dict[str, Any]:
        """The entry as plain, canonical data (what the hash and cache keys are made of)."""
        return {
            "terms": {k: list(v) for k, v in sorted(self.terms.items())},
            "deprecated": {k: list(v) for k, v in sorted(self.deprecated.items()) if v},
            "keep": self.keep,
            "case": self.case,
            "note": self.note,
        }

    def all_forms(self) -> tuple[str, ...]:
        """Every form in every language, deprecated ones last."""
        out = [t for forms in self.terms.values() for t in forms]
        out += [t for forms in self.deprecated.values() for t in forms]
        return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Rule:
    """What one entry asks of one language pair: the source forms to find, and the target
    that must come out (``keep``: the source term as matched, unchanged)."""

    entry: int  # index into Glossary.entries
    src_forms: tuple[str, ...]
    target: str  # the preferred target term; for a keep entry, its preferred term
    accepted: tuple[str, ...]  # target forms that count as applied (preferred first)
    deprecated: tuple[str, ...]  # target forms that never count and are flagged
    keep: bool
    case: str
    note: str = ""

    def data(self) -> dict[str, Any]:
        """Plain data for a segment's cache key: everything that changes what is translated
        or how it is checked."""
        return {
            "src": list(self.src_forms),
            "tgt": self.target,
            "accepted": list(self.accepted),
            "deprecated": list(self.deprecated),
            "keep": self.keep,
            "case": self.case,
            "note": self.note,
        }

    @classmethod
    def from_data(cls, entry: int, data: dict[str, Any]) -> Rule:
        """The rule ``data()`` wrote (for engines that ship plans to other processes)."""
        return cls(
            entry,
            tuple(data["src"]),
            str(data["tgt"]),
            tuple(data["accepted"]),
            tuple(data["deprecated"]),
            bool(data["keep"]),
            str(data["case"]),
            str(data.get("note", "")),
        )


@dataclass(frozen=True, eq=False)
class Glossary:
    """A loaded glossary: its file, its entries and their hash."""

    path: str
    entries: tuple[Entry, ...]
    sha256: str

    def languages(self) -> tuple[str, ...]:
        """Every language some entry has a term in."""
        seen = {lang for e in self.entries for lang in (*e.terms, *e.deprecated)}
        return tuple(sorted(seen))

    def rules(self, src: str, tgt: str) -> tuple[Rule, ...]:
        """The rules for translating ``src`` into ``tgt``: every keep entry, and every entry
        with terms in both languages."""
        out: list[Rule] = []
        for i, e in enumerate(self.entries):
            if e.keep:
                forms = e.all_forms()
                out.append(Rule(i, forms, forms[0], forms, (), True, e.case, e.note))
            elif e.terms.get(src) and e.terms.get(tgt):
                src_forms = (*e.terms[src], *e.deprecated.get(src, ()))
                accepted = e.terms[tgt]
                out.append(
                    Rule(
                        i,
                        tuple(dict.fromkeys(src_forms)),
                        accepted[0],
                        accepted,
                        e.deprecated.get(tgt, ()),
                        False,
                        e.case,
                        e.note,
                    )
                )
        return tuple(out)


__all__ = ["CASES", "MATCH_VERSION", "Entry", "Glossary", "GlossaryError", "Rule"]
