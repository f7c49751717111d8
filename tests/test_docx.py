"""Word files (.docx): paragraphs, headings, lists, tables, headers and run formatting survive a
translation, untranslated parts stay byte-identical, and broken files are refused in one line."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import manifest, run_translate_then_summarise
from workbench import Workbench, formats
from workbench.cli.app import app
from workbench.documents import read_document
from workbench.errors import InputError

docx = pytest.importorskip("docx")
from docx.oxml import OxmlElement, parse_xml  # noqa: E402
from docx.oxml.ns import qn  # noqa: E402

runner = CliRunner()
URL = "https://example.org/ferry?route=north&day=1"
# A 1x1 PNG: a picture in the body, which must come out byte-identical.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
UNTRANSLATED = "word/document.xml", "word/header1.xml"  # the parts that hold translated text


def _link(paragraph, url: str, text: str) -> None:
    r_id = paragraph.part.relate_to(url, HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), "Hyperlink")
    props.append(style)
    run.append(props)
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def build_docx(path: Path) -> Path:
    """A news article as a stringer's Word file: every structure the format keeps."""
    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "Harbour Gazette morning edition"
    d.add_heading("Ferry service returns to the islands", level=1)
    p = d.add_paragraph("The harbour council met on Monday to discuss the ferry. ")
    p.add_run("Residents welcomed").bold = True
    p.add_run(" the decision, and ")
    p.add_run("the mayor").italic = True
    p.add_run(" said more in ")
    _link(p, URL, "the full report")
    p.add_run(". Tickets cost four pounds & more.")
    d.add_paragraph("The first ferry leaves at seven.", style="List Bullet")
    d.add_paragraph("The second ferry leaves at nine.", style="List Bullet")
    d.add_paragraph("Buy a ticket before you board.", style="List Number")
    d.add_paragraph("Board at the north pier.", style="List Number")
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {
        (0, 0): "Route",
        (0, 1): "Departure",
        (1, 0): "North island",
        (1, 1): "Seven in the morning",
    }.items():
        table.cell(r, c).text = text
    d.add_paragraph("The new ferry at the north pier. ").add_run().add_picture(io.BytesIO(PNG))
    d.add_paragraph("The council will meet again next week.")
    d.save(path)
    return path


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def links(document) -> list[str]:
    part = document.part
    return [
        part.rels[h.get(qn("r:id"))].target_ref
        for h in document.element.body.iter(qn("w:hyperlink"))
    ]


def structure(document) -> dict:
    """What must not change: paragraphs, styles, tables and their shape, pictures, links."""
    return {
        "paragraphs": len(document.paragraphs),
        "styles": [p.style.name for p in document.paragraphs],
        "tables": [(len(t.rows), [len(r.cells) for r in t.rows]) for t in document.tables],
        "pictures": len(document.inline_shapes),
        "links": links(document),
        "header": len(document.sections[0].header.paragraphs),
    }


def assert_translated_docx(source: bytes, output: bytes) -> None:
    """``output`` is ``source`` translated: same structure, formatting kept, the rest equal."""
    before, after = docx.Document(io.BytesIO(source)), docx.Document(io.BytesIO(output))
    assert structure(after) == structure(before)
    body = after.paragraphs[1]
    assert any(r.bold for r in body.runs) and any(r.italic for r in body.runs)
    assert not all(r.bold for r in body.runs)  # the plain runs stay plain
    old, new = members(source), members(output)
    assert list(new) == list(old)
    for name in old:
        if name not in UNTRANSLATED:
            assert new[name] == old[name], name  # styles, numbering, images, rels, settings
    sect = [re.findall(rb"<w:sectPr.*?</w:sectPr>", m["word/document.xml"]) for m in (old, new)]
    assert sect[0] == sect[1] and sect[0]
    assert after.paragraphs[0].text != before.paragraphs[0].text  # the heading was translated


# --- the format ----------------------------------------------------------------------------


def test_blocks_kinds_and_a_byte_identical_render(tmp_path: Path) -> None:
    path = build_docx(tmp_path / "a.docx")
    doc = read_document(path)
    assert doc.format is formats.get("docx") and doc.format.binary
    assert doc.render() == path.read_bytes()
    kinds = [b.kind for b in doc.blocks if b.translatable]
    assert kinds == [
        "heading",
        "paragraph",
        *["list_item"] * 4,
        *["table"] * 4,
        *["paragraph"] * 2,
        "meta",
    ]
    assert [b.kind for b in doc.blocks][-1] == "meta"  # the header, after the body
    body = doc.translatable_texts()[1]
    assert body.startswith("The harbour council met on Monday to discuss the ferry. <r")
    assert re.search(r"<r\d+>Residents welcomed</r\d+>", body)
    assert re.search(r"<a\d+>the full report</a\d+>", body) and URL not in body
    assert "four pounds &amp; more." in body
    assert re.fullmatch(r"The new ferry at the north pier\. <x\d+/>", doc.translatable_texts()[-3])
    view = doc.view()
    assert view.startswith("# Ferry service returns to the islands\n\n")
    assert "\n- The first ferry leaves at seven.\n" in view
    assert "\n1. Board at the north pier.\n" in view
    assert "\n| Route | Departure |\n| North island | Seven in the morning |\n" in view
    assert "Harbour Gazette" not in view  # a running header is not the article
    assert "four pounds & more" in view and "<" not in view
    assert doc.input_hash() == doc.input_hash() and len(doc.input_hash()) == 64


def test_rendering_keeps_runs_links_and_untranslated_parts(tmp_path: Path) -> None:
    path = build_docx(tmp_path / "a.docx")
    doc = read_document(path)
    # Every word changed, tags and entities kept: what a translation does to a fragment.
    texts = [
        re.sub(r"(?<![<&/])\b([A-Za-z]+)\b(?![0-9]*>|;)", r"\1-uk", t)
        for t in doc.translatable_texts()
    ]
    out = doc.render(texts)
    assert out == doc.render(texts)  # the same bytes every time (cache hits rebuild them)
    assert_translated_docx(path.read_bytes(), out)
    again = docx.Document(io.BytesIO(out))
    body = again.paragraphs[1]
    assert [r.text for r in body.runs if r.bold] == ["Residents-uk welcomed-uk"]
    assert "four-uk pounds-uk & more-uk." in body.text
    assert again.sections[0].header.paragraphs[0].text.endswith("edition-uk")
    # Its own fragments put back give a document that reads as the same fragments.
    same = tmp_path / "same.docx"
    same.write_bytes(doc.render(doc.translatable_texts()))
    assert read_document(same).translatable_texts() == doc.translatable_texts()


def test_a_lost_tag_keeps_what_it_stands_for(tmp_path: Path) -> None:
    """A translation that drops a picture's tag, or a run's: nothing is lost."""
    path = build_docx(tmp_path / "a.docx")
    doc = read_document(path)
    texts = [re.sub(r"</?[rx]\d+/?>", "", t) for t in doc.translatable_texts()]
    texts[0] = "Пором <r9>знову</r9> <b>ходить</b>"  # tags that stand for nothing are left out
    out = docx.Document(io.BytesIO(doc.render(texts)))
    assert len(out.inline_shapes) == 1
    assert out.paragraphs[0].text == "Пором знову ходить"
    assert out.paragraphs[1].text.startswith("The harbour council met on Monday")
    with pytest.raises(ValueError, match="expected 13 texts, got 12"):
        doc.render(texts[:-1])


BROKEN = {
    "not-a-zip.docx": (b"Plain text, not a Word file.\n", "not a complete zip archive"),
    "no-document.docx": (None, "without word/document.xml"),
    "truncated.docx": (None, "not a complete zip archive"),
    "encrypted.docx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "password-protected"),
    "empty.docx": (None, "has no text"),
}


def write_broken(folder: Path) -> list[Path]:
    good = build_docx(folder / "good.docx").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/styles.xml", "<styles/>")
    empty = folder / "empty-source.docx"
    docx.Document().save(empty)
    contents = {
        "no-document.docx": buffer.getvalue(),
        "truncated.docx": good[: len(good) // 2],
        "empty.docx": empty.read_bytes(),
    }
    empty.unlink()
    paths = []
    for name, (data, _) in BROKEN.items():
        path = folder / name
        path.write_bytes(data if data is not None else contents[name])
        paths.append(path)
    return paths


def test_broken_files_are_refused_in_one_line_each(tmp_path: Path) -> None:
    for path in write_broken(tmp_path):
        with pytest.raises(InputError) as info:
            read_document(path)
        line = str(info.value)
        assert line.startswith(f"{path}: ") and BROKEN[path.name][1] in line, line
        assert "\n" not in line


# --- through the pipeline -------------------------------------------------------------------


def wb(cache: Path | bool) -> Workbench:
    return Workbench(cache=cache, backend="torch", beams=1)


def test_api_translates_a_word_file_and_a_rerun_loads_no_model(tiny, tmp_path: Path) -> None:
    path = build_docx(tmp_path / "a.docx")
    cache, model = tmp_path / "c.sqlite3", str(tiny("marian-multi"))
    first = wb(cache).translate(path, to="uk", src="en", model=model)
    assert first.error is None and first.data is not None and first.cache == "miss"
    assert_translated_docx(path.read_bytes(), first.data)
    assert first.text is not None and first.text.startswith("# ") and "<" not in first.text
    assert "data" not in first.provenance() and "text" not in first.provenance()
    sources = [s.source for s in first.segments]
    # A sentence with formatted runs is one segment, its runs' tags as the block reads them.
    (whole,) = [s for s in sources if "Residents welcomed" in s]
    assert whole.startswith("<r1>Residents welcomed</r1>")
    again = wb(cache)
    second = again.translate(path, to="uk", src="en", model=model)
    assert second.cache == "document" and second.data == first.data
    assert second.text == first.text
    assert again.pool.loaded == []  # no backend was even created


def test_folder_run_writes_word_files_and_reports_broken_ones(tiny, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_broken(src)
    source = (src / "good.docx").read_bytes()
    out = tmp_path / "out"
    args = [
        "translate", str(src), "--to", "uk", "--from", "en", "--model", str(tiny("marian-multi")),
        "--backend", "torch", "--beams", "1", "--cache", str(tmp_path / "c.sqlite3"),
        "--out", str(out),
    ]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    for name, (_, message) in BROKEN.items():
        # Files refused for the same reason share one line that names each of them.
        (line,) = [x for x in res.stderr.splitlines() if f"/{name}" in x]
        assert message in line, line
    target = out / "good.uk.docx"
    first = target.read_bytes()
    assert_translated_docx(source, first)
    prov = json.loads((out / "good.uk.docx.json").read_text("utf-8"))
    assert prov["input_sha256"] == read_document(src / "good.docx").input_hash()
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert not rows["good.docx"]["error"] and all(rows[n]["error"] for n in BROKEN)
    assert not list(out.glob(".*.tmp"))
    target.unlink()
    res = runner.invoke(app, args)
    assert target.read_bytes() == first
    assert {Path(r["input"]).name: r for r in manifest(out)}["good.docx"]["cache"] == "document"
    # The run's segments go out as XLIFF and TMX like any other run's.
    res = runner.invoke(app, ["export", str(out), "--format", "xliff,tmx",
                              "--cache", str(tmp_path / "c.sqlite3")])  # fmt: skip
    assert res.exit_code == 0, res.output
    xliff = (out / "good.uk.docx.xlf").read_text("utf-8")
    assert "Residents welcomed" in xliff and 'srcLang="en"' in xliff
    assert (out / "translations.tmx").exists()
    # A post-edited first unit (the heading) goes back into the Word file.
    xlf = out / "good.uk.docx.xlf"
    unit = "<target>Поромне сполучення</target>"
    edited = re.sub(r"<target>[^<]*</target>", unit, xliff, count=1)
    xlf.write_text(edited, "utf-8")
    res = runner.invoke(
        app, ["import-xliff", str(out), str(xlf), "--cache", str(tmp_path / "c.sqlite3")]
    )
    assert res.exit_code == 0, res.output
    assert docx.Document(target).paragraphs[0].text == "Поромне сполучення"
    assert_translated_docx(source, target.read_bytes())


def test_a_job_file_translates_then_summarises_as_plain_text(tiny, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    build_docx(tmp_path / "in" / "news.docx")
    out = run_translate_then_summarise(tmp_path, tiny("marian-multi"))
    assert_translated_docx((tmp_path / "in" / "news.docx").read_bytes(),
                           (out / "news.uk.docx").read_bytes())  # fmt: skip
    english = (out / "news.summary.en.txt").read_text("utf-8")
    assert english.startswith("The harbour council met on Monday")
    assert "<" not in english and "Harbour Gazette" not in english  # no tags, no header
    assert (out / "news.summary.uk.txt").read_text("utf-8").strip()
    assert not (out / "news.summary.en.docx").exists()


def test_lead_summary_of_a_word_file_is_plain_text(tmp_path: Path) -> None:
    path = build_docx(tmp_path / "news.docx")
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["summarise", str(path), "--model", "lead", "--from", "en", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    summary = (out / "news.summary.en.txt").read_text("utf-8")
    assert "The harbour council met on Monday to discuss the ferry." in summary
    assert "<r" not in summary and "&amp;" not in summary


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_opens_the_translation(tmp_path: Path) -> None:
    doc = read_document(build_docx(tmp_path / "a.docx"))
    texts = [t.replace("ferry", "ПОРОМ") for t in doc.translatable_texts()]
    (tmp_path / "a.uk.docx").write_bytes(doc.render(texts))
    done = subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
         "--convert-to", "txt:Text", "--outdir", str(tmp_path / "txt"), str(tmp_path / "a.uk.docx")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    text = (tmp_path / "txt" / "a.uk.txt").read_text("utf-8-sig")
    assert done.returncode == 0, done.stderr
    assert "Ferry service returns to the islands" in text
    assert "The harbour council met on Monday to discuss the ПОРОМ." in text
    assert "Board at the north pier." in text and "Seven in the morning" in text


def test_fields_bookmarks_and_tabs_are_kept_around_translated_words(tmp_path: Path) -> None:
    """What Word puts inside paragraphs: the pieces that are not words stay as they are."""
    pieces = (
        '<w:bookmarkStart w:id="0" w:name="top"/>',
        "<w:r><w:t>Name:</w:t><w:tab/><w:t>the harbour</w:t></w:r>",
        '<w:proofErr w:type="spellStart"/>',
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>',
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
        "<w:r><w:t>page one</w:t></w:r>",
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
        '<w:bookmarkEnd w:id="0"/>',
    )
    d = docx.Document()
    p = d.add_paragraph()._p
    made = parse_xml(f'<w:p xmlns:w="{p.nsmap["w"]}">{"".join(pieces)}</w:p>')
    for child in list(made):
        p.append(child)
    d.save(tmp_path / "f.docx")
    doc = read_document(tmp_path / "f.docx")
    (text,) = doc.translatable_texts()
    assert re.fullmatch(
        r"<x\d+/>Name:<tab/>the harbour<x\d+/><x\d+/><x\d+/>page one<x\d+/><x\d+/>", text
    ), text
    out = doc.render([text.replace("the harbour", "гавань").replace("page one", "сторінка")])
    xml = members(out)["word/document.xml"].decode()
    assert "<w:tab/><w:t>гавань</w:t>" in xml and "<w:t>сторінка</w:t>" in xml
    assert xml.count("<w:fldChar") == 3 and "PAGE" in xml and 'w:name="top"' in xml
    assert "proofErr" not in xml
    order = [
        xml.index(s) for s in ('w:name="top"', "Name:", "гавань", "PAGE", "сторінка", "bookmarkEnd")
    ]
    assert order == sorted(order)
