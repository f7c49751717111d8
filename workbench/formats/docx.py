"""Word documents (``.docx``): every paragraph is a block, its runs' formatting inline tags.

python-docx (the ``formats`` extra) opens the package and gives its XML; each paragraph of the
body (table cells and text boxes included), then of each header and footer, is one block, in
that order. A paragraph's text is an HTML-like fragment in which everything that is not plain
text is a tag naming what it stands for in the original paragraph:

- ``<r3>bold words</r3>``: text in the formatting (``w:rPr``) of the paragraph's run 3; text
  outside any ``r`` tag has the formatting most of the paragraph's text has;
- ``<a1>…</a1>``: the hyperlink that is the paragraph's child 1 (its target, a relationship or
  an anchor, is never in the text, so it cannot change);
- ``<x4/>``: child 4 kept whole and untranslated (a picture, a field, a footnote reference, a
  bookmark, tracked changes, a content control), ``<tab/>`` and ``<br/>``: a tab, a line break.

Text is escaped (``&amp;``, ``&lt;``, ``&gt;``). Rendering parses each translated fragment
(``html.parser``) back into runs that copy the tagged formatting, puts the paragraph's other
children back where their tags are (any the translation lost go at the end: nothing is
dropped), and writes the package again copying every part that holds no translated paragraph
byte for byte: styles, numbering, settings, images, relationships, section properties. The
output of ``render(doc)`` without texts is the input's bytes.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from typing import Any

from workbench.documents import Block, Document, has_letter
from workbench.errors import InputError
from workbench.formats import Format

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_HEADER = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header"
_FOOTER = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer"
# An OLE compound file: what Word writes for a password-protected document (and old .doc).
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# More unpacked bytes than this is a zip bomb, not an article.
_MAX_UNPACKED = 256_000_000
_HEADING = re.compile(r"^heading\s*(\d)?", re.IGNORECASE)


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


_P, _R, _T, _RPR, _PPR = _w("p"), _w("r"), _w("t"), _w("rPr"), _w("pPr")
_TAB, _BR, _CR, _HYPERLINK = _w("tab"), _w("br"), _w("cr"), _w("hyperlink")
# Left out of a translated paragraph: spelling marks and Word's own page-break hints, which
# it recomputes whenever it lays the document out.
_DROPPED = frozenset({_w("proofErr"), _w("lastRenderedPageBreak")})


@dataclass
class WordBlock(Block):
    """A paragraph: ``mark`` is its Markdown prefix in the readable view (``## ``, ``- ``);
    ``cell`` is (row, column) of the table cell it is in (rows counted through the part)."""

    mark: str = ""
    cell: tuple[int, int] | None = None


@dataclass
class _Paragraph:
    """How one ``w:p`` reads as a fragment, and what each of its tags stands for."""

    fragment: str = ""
    plain: Any = None  # the run whose formatting untagged text takes (None: no formatting)
    formats: dict[str, Any] = field(default_factory=dict)  # "r3" -> the run it copies
    links: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # "a1" -> (link, plain run)
    atoms: dict[str, Any] = field(default_factory=dict)  # "x4" -> the child kept whole


def _key(run: Any) -> bytes:
    """A run's formatting, as bytes that are equal when the formatting is."""
    from lxml import etree

    rpr = run.find(_RPR)
    return b"" if rpr is None else etree.tostring(rpr)


def _text_run(run: Any) -> bool:
    """Whether a run holds only text, tabs and line breaks (what a translation can rewrite)."""
    for child in run:
        if child.tag in (_RPR, _T, _TAB, _CR) or child.tag in _DROPPED:
            continue
        if child.tag == _BR and child.get(_w("type"), "textWrapping") == "textWrapping":
            continue
        return False
    return True


def _pieces(run: Any) -> Iterator[str]:
    """A text run's content: escaped text, ``<tab/>`` and ``<br/>``."""
    for child in run:
        if child.tag == _T and child.text:
            yield escape(child.text, quote=False)
        elif child.tag == _TAB:
            yield "<tab/>"
        elif child.tag in (_BR, _CR):
            yield "<br/>"


def _commonest(runs: list[Any]) -> Any:
    """The run whose formatting covers the most characters of ``runs`` (None: no runs)."""
    weight: dict[bytes, int] = {}
    first: dict[bytes, Any] = {}
    for run in runs:
        key = _key(run)
        first.setdefault(key, run)
        weight[key] = weight.get(key, 0) + sum(len(t.text or "") for t in run.iter(_T))
    if not weight:
        return None
    return first[max(weight, key=lambda k: weight[k])]  # ties: the first formatting seen


def analyse(p: Any) -> _Paragraph:
    """The fragment of paragraph ``p`` and its tag table (the same for the same XML)."""
    out = _Paragraph()
    # (child index, link index or None, run) for every text run, in order.
    runs: list[tuple[int, int | None, Any]] = []
    kinds: list[tuple[int, str]] = []  # (child index, "run" | "link" | "atom")
    for i, child in enumerate(p):
        if child.tag == _PPR or child.tag in _DROPPED:
            continue
        if child.tag == _R and _text_run(child):
            runs.append((i, None, child))
            kinds.append((i, "run"))
        elif child.tag == _HYPERLINK and all(
            (c.tag == _R and _text_run(c)) or c.tag in _DROPPED for c in child
        ):
            runs.extend((i, i, c) for c in child if c.tag == _R)
            kinds.append((i, "link"))
        else:
            kinds.append((i, "atom"))
    out.plain = _commonest([r for _, link, r in runs if link is None])
    names: dict[bytes, str] = {}
    for n, (_, _, run) in enumerate(runs):
        key = _key(run)
        if key not in names:
            names[key] = f"r{n}"
            out.formats[f"r{n}"] = run
    children = list(p)
    parts: list[str] = []
    for i, kind in kinds:
        if kind == "atom":
            out.atoms[f"x{i}"] = children[i]
            parts.append(f"<x{i}/>")
            continue
        inner = [r for at, _, r in runs if at == i]
        plain = out.plain if kind == "run" else _commonest(inner)
        if kind == "link":
            out.links[f"a{i}"] = (children[i], plain)
            parts.append(f"<a{i}>")
        for run in inner:
            text = "".join(_pieces(run))
            if not text:
                continue
            same = plain is not None and _key(run) == _key(plain)
            parts.append(text if same else f"<{names[_key(run)]}>{text}</{names[_key(run)]}>")
        if kind == "link":
            parts.append(f"</a{i}>")
    # Neighbouring pieces in one formatting are one stretch of text: "<r2>a</r2><r2>b</r2>".
    out.fragment = re.sub(r"</(r\d+)><\1>", "", "".join(parts))
    return out


class _Builder(HTMLParser):
    """Writes a translated fragment back into its (emptied) paragraph as runs."""

    def __init__(self, p: Any, table: _Paragraph) -> None:
        super().__init__(convert_charrefs=True)
        self.p, self.table = p, table
        self.stack: list[str] = []  # open r and a tags, innermost last
        self.used: set[str] = set()
        self.link: tuple[str, Any] | None = None  # the open tag and its new w:hyperlink
        self.run: tuple[tuple[str | None, str | None], Any] | None = None

    def _state(self) -> tuple[str | None, str | None]:
        link = next((t for t in reversed(self.stack) if t.startswith("a")), None)
        fmt = next((t for t in reversed(self.stack) if t.startswith("r")), None)
        return link, fmt

    def _current_run(self) -> Any:
        from lxml import etree

        link, fmt = self._state()
        if self.run is not None and self.run[0] == (link, fmt):
            return self.run[1]
        if self.link is not None and self.link[0] != link:
            self.link = None
        parent = self.p
        if link is not None:
            if self.link is None:
                original = self.table.links[link][0]
                self.link = (link, etree.SubElement(self.p, _HYPERLINK, dict(original.attrib)))
            parent = self.link[1]
        if fmt is not None:
            template = self.table.formats[fmt]
        elif link is not None:
            template = self.table.links[link][1]
        else:
            template = self.table.plain
        run = etree.SubElement(parent, _R, dict(template.attrib) if template is not None else {})
        rpr = template.find(_RPR) if template is not None else None
        if rpr is not None:
            run.append(copy.deepcopy(rpr))
        self.run = ((link, fmt), run)
        return run

    def handle_data(self, data: str) -> None:
        if not data:
            return
        from lxml import etree

        t = etree.SubElement(self._current_run(), _T)
        t.text = data
        if data != data.strip():
            t.set(_XML_SPACE, "preserve")

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.table.formats or tag in self.table.links:
            self.stack.append(tag)
        else:
            self.handle_startendtag(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        from lxml import etree

        if tag in ("tab", "br"):
            etree.SubElement(self._current_run(), _TAB if tag == "tab" else _BR)
        elif tag in self.table.atoms and tag not in self.used:
            self.used.add(tag)
            self.run = self.link = None  # what follows starts a new run (and hyperlink)
            self.p.append(self.table.atoms[tag])  # moved, with anything translated inside it
        # Any other tag stands for nothing in the paragraph: left out.

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def finish(self) -> None:
        self.close()
        for name, atom in self.table.atoms.items():
            if name not in self.used:  # lost by the translation: kept, at the end
                self.p.append(atom)


def rebuild(p: Any, fragment: str) -> None:
    """Replace the content of paragraph ``p`` (its properties stay) by ``fragment``."""
    table = analyse(p)
    for child in list(p):
        if child.tag != _PPR:
            p.remove(child)
    builder = _Builder(p, table)
    builder.feed(fragment)
    builder.finish()


class _Plain(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag in ("tab", "br"):
            self.out.append(" ")


def plain_text(fragment: str) -> str:
    """A fragment's words: tags left out, entities decoded, tabs and breaks as spaces."""
    parser = _Plain()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.out)


# --- the package ---------------------------------------------------------------------------


def _open(data: bytes, name: str) -> Any:
    """The python-docx document in ``data``; InputError says what is wrong with the file."""
    if data.startswith(_OLE):
        raise InputError(
            name,
            "is a password-protected (encrypted) Word file or an old .doc, not a .docx; "
            "remove the password or save it as .docx, then try again",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(
            name,
            "is not a .docx (not a complete zip archive: a truncated file, or another kind "
            "of file renamed); save it again as .docx",
        ) from None
    if unpacked > _MAX_UNPACKED:
        raise InputError(name, f"unpacks to over {_MAX_UNPACKED:,} bytes; not read")
    if "word/document.xml" not in archive.namelist():
        raise InputError(
            name,
            "is a zip archive without word/document.xml, not a Word document; save it as .docx",
        )
    try:
        import docx
    except ImportError:
        raise InputError(
            name,
            "reading .docx files needs the 'python-docx' package; install it with "
            "pip install 'workbench[formats]'",
        ) from None
    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx, lxml and zipfile each raise their own
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InputError(name, f"cannot be read as a Word document ({reason})") from None


def _parts(document: Any) -> list[Any]:
    """The parts whose paragraphs are translated: the body, then headers and footers."""
    extra = {
        str(rel.target_part.partname): rel.target_part
        for rel in document.part.rels.values()
        if rel.reltype in (_HEADER, _FOOTER) and not rel.is_external
    }
    return [document.part, *(extra[name] for name in sorted(extra))]


def _paragraphs(document: Any) -> Iterator[tuple[Any, Any]]:
    """(part, w:p) for every paragraph, in block order."""
    for part in _parts(document):
        for p in list(part.element.iter(_P)):
            yield part, p


def _style_names(document: Any) -> dict[str, str]:
    """Paragraph style id -> lower-case name (names are English whatever Word's language)."""
    return {
        s.style_id: (s.name or "").lower()
        for s in document.styles
        if getattr(s, "type", None) is not None and s.style_id
    }


def _kind(p: Any, part: Any, document: Any, styles: dict[str, str]) -> tuple[str, str]:
    """A paragraph's block kind and its Markdown mark in the readable view."""
    if part is not document.part:
        return "meta", ""  # a running header or footer: furniture, not the article
    ppr = p.find(_PPR)
    style = ppr.find(_w("pStyle")) if ppr is not None else None
    name = styles.get(style.get(_w("val"), ""), "") if style is not None else ""
    if any(a.tag == _w("tc") for a in p.iterancestors()):
        return "table", ""
    if name == "title":
        return "title", "# "
    if heading := _HEADING.match(name):
        return "heading", "#" * int(heading.group(1) or 1) + " "
    if name == "subtitle":
        return "heading", "## "
    if (ppr is not None and ppr.find(_w("numPr")) is not None) or name.startswith("list"):
        return "list_item", "1. " if "number" in name else "- "
    return "paragraph", ""


class Docx(Format[Document]):
    """Word documents: paragraphs, headings, lists, table cells, headers and footers."""

    name = "docx"
    suffixes = (".docx",)
    # Markdown rules keep the run tags whole and translate the words between them.
    inline_markup = "html"
    binary = True
    view_format = "md"
    summary_suffix = ".txt"  # a summary is prose, not a Word file

    def parse(self, text: Any, source: str | None = None) -> Document:
        name = source or "input"
        if not isinstance(text, bytes):
            raise InputError(name, "a Word document is read from its file, not from text")
        data = text
        document = _open(data, name)
        styles = _style_names(document)
        blocks: list[Block] = []
        rows: dict[Any, int] = {}
        for part, p in _paragraphs(document):
            kind, mark = _kind(p, part, document, styles)
            tc = next(p.iterancestors(_w("tc")), None)
            cell = None
            if tc is not None:
                tr = tc.getparent()
                cell = (rows.setdefault(tr, len(rows)), tr.index(tc))
            fragment = analyse(p).fragment
            body = fragment.strip()
            lead, trail = fragment[: len(fragment) - len(fragment.lstrip())], ""
            if body:
                trail = fragment[len(lead) + len(body) :]
            translatable = has_letter(plain_text(body))
            blocks.append(
                WordBlock(
                    kind=kind if body else "blank",
                    prefix=lead,
                    lines=[body],
                    translatable=translatable,
                    prefixes=[lead],
                    suffixes=[trail],
                    endings=[""],
                    mark=mark,
                    cell=cell,
                )
            )
        if not any(b.translatable for b in blocks):
            raise InputError(name, "has no text in its paragraphs; there is nothing to work on")
        return Document(blocks, "\n", False, self.name, False, source, data=data)

    def render(self, doc: Document, texts: list[str] | None = None) -> bytes:
        data = doc.data or b""
        if texts is None:
            return data
        wanted = sum(1 for b in doc.blocks if b.translatable)
        if len(texts) != wanted:
            raise ValueError(f"expected {wanted} texts, got {len(texts)}")
        document = _open(data, doc.source or "input")
        found = list(_paragraphs(document))
        if len(found) != len(doc.blocks):
            raise ValueError("the document's paragraphs do not match its blocks")
        changed: dict[str, bytes] = {}
        replacements = iter(texts)
        for block, (part, p) in zip(doc.blocks, found, strict=True):
            if block.translatable:
                rebuild(p, block.prefix + next(replacements) + block.suffixes[0])
                changed[str(part.partname).lstrip("/")] = b""
        for part in _parts(document):
            name = str(part.partname).lstrip("/")
            if name in changed:
                changed[name] = part.blob
        return _repack(data, changed)

    def view(self, doc: Document, texts: list[str] | None = None) -> str:
        """The paragraphs as Markdown-like text, formatting left out: one paragraph each, with
        ``# `` headings and ``- `` or ``1. `` list items; a table's rows as ``| a | b |`` lines.
        Headers and footers are left out: they are not the article (summaries read this)."""
        replacements = iter(texts or ())
        out: list[str] = []
        last: tuple[int, int] | None = None  # the table cell of the previous block
        for block in doc.blocks:
            fragment = block.lines[0]
            if texts is not None and block.translatable:
                fragment = next(replacements)
            if block.kind == "meta":
                continue
            words = " ".join(plain_text(fragment).split())
            cell = getattr(block, "cell", None)
            if cell is not None and last is not None:
                # Another paragraph of the same cell, the next cell, or the table's next row.
                joint = " " if cell == last else " | " if cell[0] == last[0] else " |\n| "
                out[-1] = out[-1][: -len(" |")] + (joint + words).rstrip(" ") + " |"
            elif cell is not None:
                out.append(f"| {words} |")
            elif words:
                out.append(getattr(block, "mark", "") + words)
            last = cell
        return "\n\n".join(out) + "\n"


def _repack(data: bytes, changed: dict[str, bytes]) -> bytes:
    """The package ``data`` with the members in ``changed`` replaced; every other member is
    copied byte for byte, in order, with its own name, date and compression."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(buffer, "w") as target,
    ):
        for info in source.infolist():
            target.writestr(info, changed.get(info.filename) or source.read(info))
    return buffer.getvalue()


FORMAT = Docx()
