"""Reading glossary files: TSV and CSV tables, and TBX (TermBase eXchange, ISO 30042).

Tables (``.tsv``, ``.csv``, ``.txt`` read as TSV): UTF-8; lines starting with ``#`` are
comments; the first other line is the header. Header cells are language codes (``en``,
``uk``, ``ko``: any code ``--to`` takes) and, optionally, ``note``, ``case`` (``auto``,
``sensitive``, ``insensitive``) and ``keep`` (``yes``/``keep``/``dnt`` marks an entry that is
never translated). A term cell holds forms separated by ``|``: the preferred term first, then
admitted forms (``Київ|Києва|Києві``); a form written ``!Kiev`` is deprecated (matched in a
source, flagged in a translation).

TBX: TBX-Basic and TBX v3 core (``conceptEntry``/``langSec``/``termSec``) as well as TBX v2
(``termEntry``/``langSet``/``tig``), with or without a namespace. A term's
``termNote type="administrativeStatus"`` makes it preferred (``preferredTerm-admn-sts``, or
the first term without one), admitted or deprecated (``deprecatedTerm-admn-sts``,
``supersededTerm-admn-sts``); an entry-level ``note`` or ``descrip`` that reads ``keep``,
``dnt`` or ``do not translate`` marks a keep entry, and ``descrip type="x-case"`` sets its case.
Parsed with defusedxml: entities and external references are refused unread. (The TBX
readers on PyPI are either parts of large toolkits, translate-toolkit with lxml, or
unmaintained; TBX's core structure is small enough to read directly.)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.glossary.entries import CASES, MATCH_VERSION, Entry, Glossary, GlossaryError
from workbench.glossary.match import sensitive

#: The largest glossary file read (a style book is kilobytes; this refuses a mistaken path).
MAX_BYTES = 20_000_000
_KEEP_WORDS = {"yes", "y", "true", "1", "x", "keep", "dnt", "do not translate", "do-not-translate"}
_NO_WORDS = {"", "no", "n", "false", "0"}
_OTHER_COLUMNS = ("note", "case", "keep")
_DEPRECATED = ("deprecatedterm-admn-sts", "supersededterm-admn-sts", "deprecated", "superseded")
_ADMITTED = ("admittedterm-admn-sts", "admitted", "legalterm-admn-sts", "regulatedterm-admn-sts")


def load(path: str | Path) -> Glossary:
    """Read and check a glossary file (format from its suffix: ``.tbx``/``.xml`` is TBX,
    ``.csv`` CSV, anything else TSV). Raises GlossaryError naming the file and line."""
    p = Path(path).expanduser()
    try:
        stat = p.stat()
    except OSError:
        raise GlossaryError(f"glossary {path}: no such file; check the path") from None
    if not p.is_file():
        raise GlossaryError(f"glossary {path}: not a file")
    if stat.st_size > MAX_BYTES:
        raise GlossaryError(f"glossary {path}: {stat.st_size:,} bytes, over {MAX_BYTES:,}")
    return _load(str(p), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load(name: str, mtime_ns: int, size: int) -> Glossary:
    # Keyed by modification time and size: a long-lived Workbench reads an edited file again.
    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        raise GlossaryError(f"glossary {name}: cannot be read ({exc.strerror or exc})") from None
    suffix = Path(name).suffix.lower()
    if suffix in (".tbx", ".xml"):
        entries = read_tbx(raw, name)
    else:
        text = _decode(raw, name)
        entries = read_table(text, name, "," if suffix == ".csv" else "\t")
    entries = _checked(entries, name)
    from workbench import signature

    sha = signature.digest("glossary", MATCH_VERSION, [e.data() for e in entries])
    return Glossary(name, tuple(entries), sha)


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise GlossaryError(
            f"glossary {name}, line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None


def _lang(code: str) -> str | None:
    from workbench import languages
    from workbench.errors import LanguageError

    try:
        return languages.normalize(code)
    except LanguageError:
        return None


def _forms(cell: str) -> tuple[list[str], list[str]]:
    """(preferred and admitted forms, deprecated forms) of one term cell."""
    good: list[str] = []
    bad: list[str] = []
    for part in cell.split("|"):
        form = " ".join(part.split())
        if form.startswith("!"):
            form = form[1:].strip()
            if form:
                bad.append(form)
        elif form:
            good.append(form)
    return list(dict.fromkeys(good)), list(dict.fromkeys(bad))


def _rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every row that is not blank or a comment."""
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    line = 1
    try:
        for cells in reader:
            if cells and not cells[0].lstrip().startswith("#") and any(c.strip() for c in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise GlossaryError(f"line {reader.line_num}: {exc}") from None


def read_table(text: str, name: str, delimiter: str = "\t") -> list[Entry]:
    """The entries of a TSV (``delimiter="\\t"``) or CSV table."""
    try:
        return _read_table(text, delimiter)
    except GlossaryError as exc:
        raise GlossaryError(f"glossary {name}, {exc}") from None


def _read_table(text: str, delimiter: str) -> list[Entry]:
    rows = _rows(text, delimiter)
    first = next(rows, None)
    if first is None:
        raise GlossaryError("line 1: no header row; start with language codes, e.g. en<TAB>uk")
    header_line, header = first
    columns: list[str] = []
    for cell in header:
        key = cell.strip().lower()
        if key == "dnt":
            key = "keep"
        if key not in _OTHER_COLUMNS:
            lang = _lang(key) if key else None
            if lang is None:
                raise GlossaryError(
                    f"line {header_line}: header column {cell!r} is neither a language code "
                    f"nor one of {', '.join(_OTHER_COLUMNS)}"
                )
            key = lang
        if key in columns:
            raise GlossaryError(f"line {header_line}: column {key!r} appears twice in the header")
        columns.append(key)
    langs = [c for c in columns if c not in _OTHER_COLUMNS]
    if not langs:
        raise GlossaryError(f"line {header_line}: the header names no language column")
    entries: list[Entry] = []
    for line, cells in rows:
        if len(cells) > len(columns):
            raise GlossaryError(
                f"line {line}: {len(cells)} cells, but the header has {len(columns)} columns"
            )
        row = dict(zip(columns, [c.strip() for c in cells], strict=False))
        terms: dict[str, tuple[str, ...]] = {}
        deprecated: dict[str, tuple[str, ...]] = {}
        for lang in langs:
            good, bad = _forms(row.get(lang, ""))
            if good:
                terms[lang] = tuple(good)
            if bad:
                deprecated[lang] = tuple(bad)
        keep_cell = row.get("keep", "").lower()
        if keep_cell not in _KEEP_WORDS | _NO_WORDS:
            raise GlossaryError(f"line {line}: keep is {row['keep']!r}; use yes or leave it empty")
        case = row.get("case", "").lower() or "auto"
        if case not in CASES:
            raise GlossaryError(f"line {line}: case is {row['case']!r}; use {', '.join(CASES)}")
        entries.append(
            _entry(terms, deprecated, keep_cell in _KEEP_WORDS, case, row.get("note", ""), line)
        )
    return entries


def _entry(
    terms: dict[str, tuple[str, ...]],
    deprecated: dict[str, tuple[str, ...]],
    keep: bool,
    case: str,
    note: str,
    line: int,
) -> Entry:
    """An entry, checked: a keep marker, or the same term in every language, makes a keep
    entry; otherwise it needs terms in two languages."""
    if not terms:
        raise GlossaryError(f"line {line}: no term in any language column")
    preferred = {forms[0] for forms in terms.values()}
    if not keep and len(terms) > 1 and len(preferred) == 1:
        keep = True  # the same term in every language: never translated
    if not keep and len(terms) < 2:
        lang = next(iter(terms))
        raise GlossaryError(
            f"line {line}: {terms[lang][0]!r} has a term in {lang} only; give its translation "
            "in another column, or mark it keep"
        )
    return Entry(terms, deprecated, keep, case, " ".join(note.split()), line)


def _checked(entries: list[Entry], name: str) -> list[Entry]:
    """Entries with exact repeats dropped; two entries that give one source form different
    terms are an error naming both lines."""
    seen: dict[tuple[str, str], Entry] = {}
    out: list[Entry] = []
    for e in entries:
        if any(_same(e, kept) for kept in out):
            continue
        for lang, forms in [*e.terms.items(), *e.deprecated.items()]:
            for form in forms:
                # "May" (a name, as written) and "may" (any case) are different terms.
                key = (lang, form if sensitive(form, e.case) else form.casefold())
                other = seen.get(key)
                if other is not None and other is not e and _conflict(other, e, lang):
                    raise GlossaryError(
                        f"glossary {name}, line {e.line}: {form!r} ({lang}) is also in the "
                        f"entry of line {other.line} with other terms; merge the two entries"
                    )
                seen.setdefault(key, e)
        out.append(e)
    return out


def _same(a: Entry, b: Entry) -> bool:
    return a.data() == b.data()


def _conflict(a: Entry, b: Entry, lang: str) -> bool:
    """Whether two entries sharing a form in ``lang`` ask for different things: a keep and a
    translation, or different preferred terms in some language both have."""
    if a.keep != b.keep:
        return True
    shared = set(a.terms) & set(b.terms) - {lang}
    return any(a.terms[k][0] != b.terms[k][0] for k in shared)


# --- TBX ---------------------------------------------------------------------------------------


class _Node:
    __slots__ = ("attrs", "children", "line", "tag", "text")

    def __init__(self, tag: str, attrs: dict[str, str], line: int) -> None:
        self.tag, self.attrs, self.line = tag, attrs, line
        self.children: list[_Node] = []
        self.text = ""

    def find(self, *tags: str) -> Iterator[_Node]:
        return (c for c in self.children if c.tag in tags)

    def walk(self) -> Iterator[_Node]:
        yield self
        for c in self.children:
            yield from c.walk()


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _parse_xml(raw: bytes, name: str) -> _Node:
    """A small tree of the file with each element's line (SAX, through defusedxml)."""
    from xml.sax import SAXParseException
    from xml.sax.handler import ContentHandler, feature_external_ges, feature_external_pes

    from defusedxml import DefusedXmlException
    from defusedxml.sax import make_parser

    class Builder(ContentHandler):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[_Node] = [_Node("#root", {}, 1)]
            self.locator: Any = None

        def setDocumentLocator(self, locator: Any) -> None:
            self.locator = locator

        def startElement(self, tag: str, attrs: Any) -> None:
            line = self.locator.getLineNumber() if self.locator else 0
            node = _Node(_local(tag), {_attr(k): v for k, v in attrs.items()}, line)
            self.stack[-1].children.append(node)
            self.stack.append(node)

        def endElement(self, tag: str) -> None:
            self.stack.pop()

        def characters(self, content: str) -> None:
            self.stack[-1].text += content

    builder = Builder()
    try:
        # A DOCTYPE line is allowed (TBX v2 files name their DTD), but the DTD is never read
        # and external entities are never resolved; entity declarations are refused.
        parser = make_parser()
        parser.forbid_dtd, parser.forbid_entities, parser.forbid_external = False, True, False
        parser.setFeature(feature_external_ges, False)
        parser.setFeature(feature_external_pes, False)
        parser.setContentHandler(builder)
        parser.parse(io.BytesIO(raw))
    except DefusedXmlException:
        raise GlossaryError(
            f"glossary {name}: declares entities or external references, which a glossary "
            "never needs; refused unread"
        ) from None
    except SAXParseException as exc:
        raise GlossaryError(
            f"glossary {name}, line {exc.getLineNumber()}: not well-formed XML ({exc.getMessage()})"
        ) from None
    return builder.stack[0]


def _attr(key: str) -> str:
    return "lang" if key in ("xml:lang", "lang") or key.endswith("}lang") else _local(key)


def read_tbx(raw: bytes, name: str) -> list[Entry]:
    """The entries of a TBX file."""
    root = _parse_xml(raw, name)
    top = next(iter(root.children), None)
    if top is None or top.tag not in ("tbx", "martif"):
        raise GlossaryError(f"glossary {name}: not TBX (the root element is not <tbx> or <martif>)")
    concepts = [n for n in top.walk() if n.tag in ("conceptEntry", "termEntry")]
    if not concepts:
        raise GlossaryError(
            f"glossary {name}, line {top.line}: no <conceptEntry> or <termEntry> in the file"
        )
    entries = []
    for concept in concepts:
        try:
            entries.append(_tbx_entry(concept))
        except GlossaryError as exc:
            raise GlossaryError(f"glossary {name}, {exc}") from None
    return entries


def _tbx_entry(concept: _Node) -> Entry:
    terms: dict[str, tuple[str, ...]] = {}
    deprecated: dict[str, tuple[str, ...]] = {}
    keep, case, notes = False, "auto", []
    for node in concept.children:
        if node.tag in ("note", "descrip", "admin", "descripGrp"):
            kind = node.attrs.get("type", "").lower()
            value = " ".join("".join(n.text for n in node.walk()).split())
            if kind in ("x-case", "case"):
                case = value.lower() or "auto"
            elif kind in ("x-keep", "keep") or value.lower() in _KEEP_WORDS - {"1", "x", "y"}:
                keep = keep or value.lower() not in _NO_WORDS
            elif value:
                notes.append(value)
    if case not in CASES:
        raise GlossaryError(f"line {concept.line}: case is {case!r}; use {', '.join(CASES)}")
    for section in concept.find("langSec", "langSet"):
        lang_code = section.attrs.get("lang", "")
        lang = _lang(lang_code) if lang_code else None
        if lang is None:
            raise GlossaryError(
                f"line {section.line}: <{section.tag}> without a known xml:lang "
                f"({lang_code or 'none'})"
            )
        good: list[tuple[int, str]] = []
        bad: list[str] = []
        holders = [n for n in section.walk() if n.tag in ("termSec", "tig", "ntig")]
        for holder in holders:
            term = next((n for n in holder.walk() if n.tag == "term"), None)
            text = " ".join("".join(n.text for n in term.walk()).split()) if term else ""
            if not text:
                raise GlossaryError(f"line {holder.line}: <{holder.tag}> has no <term> text")
            status = ""
            for note in holder.walk():
                if note.tag == "termNote" and note.attrs.get("type") == "administrativeStatus":
                    status = note.text.strip().lower()
            if status in _DEPRECATED:
                bad.append(text)
            else:
                good.append((0 if status.startswith("preferred") else 1, text))
        if not holders:
            raise GlossaryError(f"line {section.line}: <{section.tag}> holds no term")
        ordered = [t for _, t in sorted(good, key=lambda item: item[0])]  # stable: file order
        if ordered:
            terms[lang] = tuple(dict.fromkeys([*terms.get(lang, ()), *ordered]))
        if bad:
            deprecated[lang] = tuple(dict.fromkeys([*deprecated.get(lang, ()), *bad]))
    if not terms and deprecated:
        raise GlossaryError(f"line {concept.line}: every term of the entry is deprecated")
    return _entry(terms, deprecated, keep, case, "; ".join(notes), concept.line)


__all__ = ["MAX_BYTES", "load", "read_table", "read_tbx"]
