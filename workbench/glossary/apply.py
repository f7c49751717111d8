"""What the translation pipeline does with a glossary.

- **Keys.** The glossary's hash is part of the document's key (and ``glossary:3f2a9c1`` of
  the signature). A segment's key covers only the rules that match it, and only where they
  change what the model is asked: a segment with no term, or one a model merely gets checked
  for, keeps the key it has without a glossary. So editing one term re-translates only the
  segments that hold it.
- **Chat models** get the matching terms in their prompt (the ``<prompt>-glossary`` template,
  ``prompts/translate-chat-glossary.toml``); the plan carries the pair's rules so that the
  backend finds the same terms in each segment.
- **Accounting.** Every result of a run with a glossary records, per segment, each term found
  and whether it came out as required (``applied``), not at all (``missed``) or in a
  deprecated form; missed and deprecated terms are also ``glossary`` flags of the checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from workbench.glossary.entries import MATCH_VERSION, Glossary, Rule
from workbench.glossary.match import Match, find

#: How a plan's model is held to the glossary: terms in a chat prompt, or checked only.
PROMPT, CHECK = "prompt", "check"


@lru_cache(maxsize=32)
def rules(glossary: Glossary, src: str, tgt: str) -> tuple[Rule, ...]:
    """The glossary's rules for one pair (cached: a glossary is read once per run)."""
    return glossary.rules(src, tgt)


def mode(plan: Any) -> str:
    """How ``plan``'s model is held to a glossary."""
    return PROMPT if "chat" in plan.extra else CHECK


def recipe(rec: dict[str, Any], glossary: Glossary) -> dict[str, Any]:
    """The document's recipe with the glossary in it (its key and signature cover it)."""
    return {**rec, "glossary": glossary.sha256}


def with_terms(plan: Any, glossary: Glossary | None) -> Any:
    """``plan`` carrying its pair's rules, for a chat model that puts them in its prompt
    (plain data: the plan is shipped to other processes as JSON). Not part of any key:
    each segment's key covers the rules that match it."""
    if glossary is None or mode(plan) != PROMPT:
        return plan
    pair = rules(glossary, plan.src, plan.tgt)
    return replace(plan, terms=tuple({"entry": r.entry, **r.data()} for r in pair))


def plan_rules(plan: Any) -> tuple[Rule, ...]:
    """The rules a plan carries (``with_terms``)."""
    return tuple(Rule.from_data(int(d["entry"]), d) for d in getattr(plan, "terms", ()))


def segment_extras(glossary: Glossary | None, plan: Any, texts: Sequence[str]) -> list[Any]:
    """Per segment: what its key adds for the glossary (the rules that match it, how they
    are applied), or None where the glossary changes nothing the model is asked."""
    if glossary is None or mode(plan) == CHECK:
        return [None] * len(texts)
    pair = rules(glossary, plan.src, plan.tgt)
    # The templates a sentence with terms may be asked with (with its context, or without).
    shas = [glossary_prompt(plan).sha256]
    if getattr(plan, "context_sentences", 0):
        shas.append(glossary_prompt(plan, context=True).sha256)
    out: list[Any] = []
    for text in texts:
        found = find(text, pair, plan.src)
        out.append(_extra(found, PROMPT, shas) if found else None)
    return out


def _extra(found: list[Match], how: str, prompt_shas: list[str]) -> dict[str, Any]:
    used = {m.rule.entry: m.rule for m in found}
    extra: dict[str, Any] = {
        "glossary": MATCH_VERSION,
        "how": how,
        "rules": [used[i].data() for i in sorted(used)],
    }
    if prompt_shas:
        extra["glossary_prompts"] = prompt_shas
    return extra


def glossary_prompt(plan: Any, context: bool = False) -> Any:
    """The template a chat model translates a sentence with terms by: its family's template
    (``context``: the one with preceding sentences) with ``-glossary`` after the name."""
    from workbench import prompts
    from workbench.models import families

    family = families.get(plan.info.family)
    name = family.context_prompt if context else family.prompt
    return _prompt(f"{name}-glossary", str(prompts.user_folder()))


@lru_cache(maxsize=8)
def _prompt(name: str, folder: str) -> Any:
    # Read once per process and user folder: every unit of a chat run renders it.
    from workbench import prompts

    return prompts.load(name, task="translate")


def terms_text(found: Sequence[Match], text: str) -> str:
    """The ``$terms`` of the chat prompt: one line per term found in ``text``."""
    lines: list[str] = []
    for m in found:
        written = m.text_in(text)
        if m.rule.keep:
            line = f"- {written}: keep exactly as written, untranslated"
        else:
            line = f"- {written} → {m.rule.target}"
        if m.rule.note:
            line += f" ({m.rule.note})"
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def account(result: Any, glossary: Glossary, how: str) -> list[Any]:
    """Record on ``result`` (``result.glossary``) each term found in its segments and whether
    it was applied; returns the checks' flags for the missed ones."""
    from workbench.quality.checks.glossary import check_pairs

    src, tgt = result.source_lang or "", result.target_lang
    pairs = [(p.source, p.target) for p in result.segments]
    flags, terms = check_pairs(pairs, rules(glossary, src, tgt), src, tgt)
    counts = {s: sum(t["status"] == s for t in terms) for s in ("applied", "missed", "deprecated")}
    result.glossary = {
        "file": glossary.path,
        "sha256": glossary.sha256,
        "entries": len(glossary.entries),
        "how": how,
        **counts,
        "terms": terms,
    }
    return flags


__all__ = [
    "CHECK",
    "PROMPT",
    "account",
    "glossary_prompt",
    "mode",
    "plan_rules",
    "recipe",
    "rules",
    "segment_extras",
    "terms_text",
    "with_terms",
]
