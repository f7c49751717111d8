"""What the translation pipeline does with a glossary.

- **Seq2seq models** get each term as a placeholder (``protector``, through the hook of
  ``workbench.inline``), put back as the required term; a term that inflects in the target
  (several forms listed) is left to the model and checked.
- **Chat models** get the matching terms in their prompt (the ``<prompt>-glossary`` templates,
  ``prompts/translate-chat-glossary.toml``); the plan carries the pair's rules so that the
  backend finds the same terms in each segment.
- **Keys.** The glossary's hash is part of the document's key (and ``glossary:3f2a9c1`` of
  the signature). A segment's key covers only what the glossary changes in what the model is
  asked: its text with placeholders, or (chat) the rules that match it and the templates. A
  segment with no term keeps the key it has without a glossary, so editing one term
  re-translates only the segments that hold it.
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
from workbench.glossary.read import load

#: How a plan's model is held to a glossary: terms in a chat prompt, terms as placeholders
#: restored as the required terms (``workbench.inline``), or checked only.
PROMPT, PLACEHOLDER, CHECK = "prompt", "placeholder", "check"


@lru_cache(maxsize=32)
def rules(glossary: Glossary, src: str, tgt: str) -> tuple[Rule, ...]:
    """The glossary's rules for one pair (cached: a glossary is read once per run)."""
    return glossary.rules(src, tgt)


def mode(plan: Any) -> str:
    """How ``plan``'s model is held to a glossary: a chat model by its prompt, any other by
    placeholders."""
    return PROMPT if "chat" in plan.extra else PLACEHOLDER


def protector(glossary: Glossary | None, plan: Any) -> Any:
    """The spans ``workbench.inline`` sends as placeholders for a seq2seq model: each term
    found in a sentence (without the suffix or particle after it), restored as the required
    term, or as written for a keep term. None where terms are not placeholders.

    A required term whose target lists other forms (``Київ|Києва|Києві``: it inflects) is
    left to the model and checked: a placeholder would put one form in every sentence
    (``у Київ`` for ``in Kyiv``).

    The model never sees the restored text, so a sentence's key (of its text with
    placeholders) does not depend on it; the document's key has the glossary's hash.
    """
    if glossary is None or plan is None or mode(plan) != PLACEHOLDER:
        return None
    pair = rules(glossary, plan.src, plan.tgt)
    if not pair:
        return None
    from workbench import inline

    def protect(sentence: str) -> list[Any]:
        spans = []
        for m in find(sentence, pair, plan.src):
            if inflects(m.rule):
                continue
            written = sentence[m.start : m.term_end]
            restore = written if m.rule.keep else _capitalised(m.rule.target, sentence, m.start)
            spans.append(inline.Protect(m.start, m.term_end, restore))
        rest = list(sentence)
        for span in spans:
            rest[span.start : span.end] = [" "] * (span.end - span.start)
        # A sentence that is nothing but terms (a one-word headline) would be copied as it
        # stands: it goes to the model as text instead, and its terms are checked.
        return spans if any(ch.isalpha() for ch in rest) else []

    return protect


def inflects(rule: Rule) -> bool:
    """Whether a required term comes in several forms in its target (so it is checked, not
    forced by a placeholder)."""
    return not rule.keep and len(rule.accepted) > 1


def _capitalised(term: str, sentence: str, start: int) -> str:
    """``term`` with a capital first letter where it opens the sentence (``city council`` at
    the start of a sentence comes back as ``Міська рада``)."""
    opens = not any(ch.isalnum() for ch in sentence[:start])
    return term[:1].upper() + term[1:] if opens and sentence[start : start + 1].isupper() else term


def recipe(rec: dict[str, Any], glossary: Glossary | None) -> dict[str, Any]:
    """The document's recipe with the glossary in it (its key and signature cover it);
    ``rec`` itself without one."""
    return rec if glossary is None else {**rec, "glossary": glossary.sha256}


def with_terms(plan: Any, glossary: Glossary | None) -> Any:
    """``plan`` carrying its pair's rules, for a chat model that puts them in its prompt
    (plain data: the plan is shipped to other processes as JSON). Not part of any key:
    each segment's key covers the rules that match it."""
    if glossary is None or mode(plan) != PROMPT:
        # None, also for a plan that had them: a leg without the glossary (the fragments of
        # a sentence that lost its placeholders) is keyed and asked without terms.
        return replace(plan, terms=()) if plan.terms else plan
    pair = rules(glossary, plan.src, plan.tgt)
    return replace(plan, terms=tuple({"entry": r.entry, **r.data()} for r in pair))


def plan_rules(plan: Any) -> tuple[Rule, ...]:
    """The rules a plan carries (``with_terms``)."""
    return tuple(Rule.from_data(int(d["entry"]), d) for d in getattr(plan, "terms", ()))


def segment_extras(glossary: Glossary | None, plan: Any, texts: Sequence[str]) -> list[Any]:
    """Per segment: what its key adds for the glossary (the rules that match it, how they
    are applied), or None where the glossary changes nothing the model is asked."""
    if glossary is None or mode(plan) != PROMPT:
        # Placeholders are in the sentence's own text: its key already says which spans
        # went as placeholders (and the restored terms are not the model's work).
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


def how(job: Any) -> str:
    """How a job's model was held to its glossary: a pivot route's sentences only checked
    (each leg is held to its own pair's terms, where the glossary has them)."""
    return CHECK if job.pivot is not None and mode(job.plan) == PLACEHOLDER else mode(job.plan)


#: The note ``workbench.tasks.markup`` gives a sentence whose placeholders did not come back:
#: it was translated again without them (its terms then checked like any model's).
FRAGMENTS_NOTE = "sentence translated in fragments"


def job_checks(result: Any, job: Any) -> list[Any]:
    """``account`` for a translation job with a glossary (none: no flags, no record)."""
    if job is None or job.glossary is None or job.plan is None:
        return []
    return account(result, job.glossary, how(job))


def account(result: Any, glossary: Glossary, how: str) -> list[Any]:
    """Record on ``result`` (``result.glossary``) each term found in its segments and whether
    it was applied; returns the checks' flags for the missed ones. With placeholders, a term
    of a sentence the model lost a placeholder of says ``fallback``, and a note counts them."""
    from workbench.quality.checks.glossary import check_pairs

    src, tgt = result.source_lang or "", result.target_lang
    pairs = [(p.source, p.target) for p in result.segments]
    flags, terms = check_pairs(pairs, rules(glossary, src, tgt), src, tgt)
    counts = {s: sum(t["status"] == s for t in terms) for s in ("applied", "missed", "deprecated")}
    record: dict[str, Any] = {
        "file": glossary.path,
        "sha256": glossary.sha256,
        "entries": len(glossary.entries),
        "how": how,
        **counts,
    }
    if how == PLACEHOLDER:
        lost = {
            i for i, p in enumerate(result.segments) if any(FRAGMENTS_NOTE in n for n in p.notes)
        }
        for t in terms:
            t["fallback"] = t["segment"] in lost
            t["forced"] = not t["inflects"] and not t["fallback"]
        with_terms = {t["segment"] for t in terms}
        record["fallbacks"] = len(lost & with_terms)
        note = (
            f"glossary: {record['fallbacks']} of {len(with_terms)} sentences with terms lost a "
            "placeholder and were translated without them (their terms then checked)"
        )
        if record["fallbacks"] and note not in result.notes:
            result.notes.append(note)
    result.glossary = {**record, "terms": terms}
    return flags


__all__ = [
    "CHECK",
    "PLACEHOLDER",
    "PROMPT",
    "account",
    "glossary_prompt",
    "how",
    "inflects",
    "job_checks",
    "load",
    "mode",
    "plan_rules",
    "protector",
    "recipe",
    "rules",
    "segment_extras",
    "terms_text",
    "with_terms",
]
