"""Which language a document or an output is in: one sample, one set of candidates, one detector.

Both tasks ask here: translation for the source language (or to question a ``--from``) and to
check each translation, summarising for the article's language and to check each summary.
"""

from __future__ import annotations

from workbench import languages
from workbench.documents import Document
from workbench.errors import WorkbenchError

#: Characters of a document's prose used to detect its language.
DETECT_SAMPLE = 1500


def sample(doc: Document) -> str:
    """The start of a document's prose, which language detection goes on."""
    text = doc.prose() or doc.format.plain(doc.view())  # HTML: its words, not its tags
    # A couple of paragraphs identify the language as well as the whole article does, and the
    # detector's time grows with the text: sample the start, cut at a space.
    if len(text) > DETECT_SAMPLE:
        text = text[: text.rfind(" ", 0, DETECT_SAMPLE) + 1 or DETECT_SAMPLE]
    return text


def candidates(*in_play: str | None) -> list[str]:
    """The languages a detection chooses among: the usual ones and those in play."""
    return sorted(set(languages.DETECT_AMONG) | {code for code in in_play if code})


def document_language(doc: Document, *in_play: str | None, what: str = "the language") -> str:
    """The language ``doc`` is written in; a WorkbenchError naming the file when it cannot
    be told (``what`` names what was looked for: "the source language", ...)."""
    found = languages.detect(sample(doc), candidates(*in_play))
    if found is None:
        raise WorkbenchError(f"{doc.source or 'input'}: cannot tell {what}; pass --from CODE")
    return found


def contradiction(doc: Document, claimed: str, *in_play: str | None) -> str | None:
    """The language ``doc`` clearly is when the user said ``claimed`` (else None)."""
    return languages.contradicts(sample(doc), claimed, candidates(*in_play))


def text_language(text: str, *in_play: str | None) -> str | None:
    """The language of an output text, among the usual ones and those in play."""
    return languages.detect(text, candidates(*in_play))


def output_language(doc: Document, *in_play: str | None) -> str | None:
    """The language of an output document's prose; None when it has too few letters for
    the answer to mean anything."""
    text = sample(doc)
    if languages.letters(text) < languages.MIN_CHECK_LETTERS:
        return None
    return text_language(text, *in_play)
