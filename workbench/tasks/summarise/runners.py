"""The two model runners: texts in, summaries out, counted in the model's own tokens.

A runner knows its chunk budget, counts tokens the way its model does, and summarises a list
of texts in one of three roles: ``single`` (the article in one chunk), ``map`` (one part of a
long article) and ``combine`` (part summaries joined).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench import detection, languages
from workbench.documents import Document
from workbench.errors import ModelError
from workbench.results import SummaryResult
from workbench.tasks.summarise.lead import title
from workbench.tasks.summarise.output import clean
from workbench.tasks.summarise.plan import Context, Plan

if TYPE_CHECKING:
    from workbench.prompts import Prompt


@dataclass(frozen=True)
class Out:
    """One summary a runner wrote."""

    text: str
    notes: tuple[str, ...] = ()
    retries: int = 0


class Seq2SeqRunner:
    """A seq2seq summariser (mT5 XL-Sum, BART, PEGASUS) with its effective settings."""

    def __init__(self, ctx: Context, plan: Plan) -> None:
        assert plan.resolved is not None
        self.params = plan.params
        self.model = ctx.pool.summariser(plan.resolved)
        self.budget = int(self.params["chunk_tokens"])

    def count(self, text: str) -> int:
        return self.model.count(text, self.params["prefix"])

    def run(self, texts: list[str], role: str) -> list[Out]:
        bound = self._bound(role)
        return [Out(t, n) for t, n in self.model.generate(texts, self.params, bound)]

    def _bound(self, role: str) -> int:
        bound = int(self.params["max_new_tokens"])
        # Part summaries at most half a chunk: each round then shrinks the text.
        return min(bound, max(8, self.budget // 2)) if role == "map" else bound


class ChatRunner:
    """A chat model prompted through the plan's templates."""

    def __init__(self, ctx: Context, plan: Plan, values: dict[str, Any]) -> None:
        assert plan.resolved is not None and plan.prompt is not None and plan.combine is not None
        from workbench.models.chat_backend import ChatTranslator

        backend = ctx.pool.backend(plan.resolved)
        assert isinstance(backend, ChatTranslator)
        self.backend = backend
        self.plan = plan
        self.params = plan.params
        self.values = values
        self.user_values = ctx.opts.variables
        self.retry = ctx.opts.retry
        overhead = max(
            backend.count(t.render({**values, "text": ""}, self._user_values(t)))
            for t in (plan.prompt, plan.combine)
        )
        context = int(self.params["context_tokens"])
        room = context - overhead - int(self.params["max_new_tokens"]) - 16
        if room < 32:
            raise ModelError(
                f"model {plan.resolved.model_id}: its context ({context} tokens) leaves no room for "
                f"an article after the prompt ({overhead} tokens) and the summary; use a shorter "
                "prompt, lower --tokens, or set a larger max_input_tokens in the catalog",
                model=plan.resolved.ref,
            )
        chunk = self.params.get("chunk_tokens")
        self.budget = min(room, int(chunk)) if chunk else room

    def _user_values(self, template: Prompt) -> dict[str, str]:
        # --var is checked against the chosen prompt; the combine step uses what it declares.
        return {k: v for k, v in self.user_values.items() if k in template.variables}

    def count(self, text: str) -> int:
        return self.backend.count_text(text)

    def run(self, texts: list[str], role: str) -> list[Out]:
        template = self.plan.combine if role == "combine" else self.plan.prompt
        assert template is not None
        bound = int(self.params["max_new_tokens"])
        if role == "map":
            bound = min(bound, max(8, self.budget // 2))
        beams, guard = int(self.params["beams"]), int(self.params["repeat_guard"])
        user_values = self._user_values(template)
        convs = [template.render({**self.values, "text": t}, user_values) for t in texts]
        outs = self.backend.generate(convs, bound, beams=beams, repeat_guard=guard)
        results = [Out(clean(o.text), o.notes) for o in outs]
        if role == "map" or not self.retry:
            return results
        # The whole summary is checked: a wrong language is worth one more try, with the
        # template's retry message as a follow-up turn (greedy decoding would repeat itself).
        message = template.render_retry(self.values, user_values)
        source, target = self.plan.source, self.plan.target
        wrong = [
            i
            for i, r in enumerate(results)
            if message
            and (found := detection.text_language(r.text, source, target))
            and found != target
        ]
        if not wrong or not message:
            return results
        again = [
            [
                *convs[i],
                {"role": "assistant", "content": results[i].text},
                {"role": "user", "content": message},
            ]
            for i in wrong
        ]
        redo = self.backend.generate(again, bound, beams=beams, repeat_guard=guard)
        for i, o in zip(wrong, redo, strict=True):
            results[i] = Out(clean(o.text), (*o.notes, "language-retry"), 1)
        return results


def length_phrase(sentences: int | None, words: int | None) -> str:
    """``in at most 3 sentences and 60 words``: the $length of prompt templates."""
    parts = []
    if sentences:
        parts.append(f"{sentences} sentence{'s' if sentences != 1 else ''}")
    if words:
        parts.append(f"{words} words")
    return "in at most " + " and ".join(parts) if parts else "briefly"


def make_runner(
    doc: Document, ctx: Context, plan: Plan, result: SummaryResult
) -> Seq2SeqRunner | ChatRunner:
    """The runner of a plan's model; a chat model's templates get the article's values."""
    if plan.kind != "chat":
        return Seq2SeqRunner(ctx, plan)
    values = {
        "title": title(doc),
        "lang": plan.target,
        "language": languages.get(plan.target).name,
        "source_lang": plan.source,
        "source_language": languages.get(plan.source).name,
        "length": length_phrase(result.settings["sentences"], result.settings["words"]),
        "sentences": result.settings["sentences"],
        "words": result.settings["words"],
    }
    return ChatRunner(ctx, plan, values)
