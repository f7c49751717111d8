"""The article body a summary is made from, lead-N (its first sentences) and length limits."""

from __future__ import annotations

from workbench import inline
from workbench.documents import Document
from workbench.settings import DEFAULT_SENTENCES

#: Kinds of block a summary is made from: the article body (no title, bylines, links, tables).
BODY_KINDS = ("paragraph", "list_item", "quote")


def body_sentences(doc: Document, lang: str) -> list[str]:
    """The sentences of the article body, in order: paragraphs, list items and quotes.

    The title, headings, bylines, datelines, captions, credits, link lines, "related" and
    source lines and tables are left out: they are not part of the story a summary (or the
    lead) is made from. So is a wire opener ("KYIV (Reuters) -") before the first sentence.
    """
    from workbench.furniture import opener_length

    out: list[str] = []
    first = True
    plain = doc.format.plain  # HTML: the words, without tags and entities
    for block in doc.blocks:
        if block.translatable and block.kind in BODY_KINDS:
            text = plain(block.text)
            if first:
                text, first = text[opener_length(text) :], False
            syntax = inline.syntax_of(doc.format.inline_markup)
            for sentence in inline.split_sentences(text, lang, syntax):
                sentence = inline.plain(sentence, syntax)  # HTML: the words, not the tags
                if sentence.strip() and any(ch.isalpha() for ch in sentence):
                    out.append(sentence.strip())
    return out


def title(doc: Document) -> str:
    """The article's title, or empty."""
    return next((doc.format.plain(b.text) for b in doc.blocks if b.kind == "title"), "")


def limit_sentences(
    sentences: list[str], max_sentences: int | None, max_words: int | None
) -> tuple[list[str], list[str]]:
    """Keep at most ``max_sentences`` sentences and ``max_words`` words; returns (kept, notes).

    Words are cut at a sentence boundary; only when the first sentence alone is longer than the
    limit is it cut inside, at a word boundary (never inside a word), and marked with "…".
    Words are whitespace-separated; text without spaces (Chinese, Japanese, Thai) counts as few.
    """
    notes: list[str] = []
    kept = [s for s in sentences if s.strip()]
    if max_sentences is not None and len(kept) > max_sentences:
        kept = kept[:max_sentences]
        notes.append(f"trimmed to {max_sentences} sentences")
    if max_words is not None:
        out: list[str] = []
        total = 0
        for sentence in kept:
            n = len(sentence.split())
            if total + n > max_words:
                break
            out.append(sentence)
            total += n
        if not out and kept:
            words = kept[0].split()[:max_words]
            out = [" ".join(words).rstrip(",;:–—-") + "…"]
            notes.append(f"cut inside the first sentence at a word boundary ({max_words} words)")
        elif len(out) < len(kept):
            notes.append(f"trimmed to {total} words at a sentence boundary (limit {max_words})")
        kept = out
    return kept, notes


def lead(units: list[str], sentences: int | None, words: int | None) -> list[str]:
    """The lead-N baseline: the body's first sentences within the limits (the title excluded)."""
    if sentences is None and words is None:
        sentences = DEFAULT_SENTENCES
    kept, _ = limit_sentences(units, sentences, words)
    return kept
