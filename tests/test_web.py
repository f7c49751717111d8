"""Web pages as inputs: a real HTTP server on 127.0.0.1 serves news pages and broken answers;
articles are extracted, translated and summarised like files, and every failure is one line."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO, SEEDS
from workbench import Workbench, formats
from workbench.cli.app import app
from workbench.documents import parse
from workbench.errors import InputError
from workbench.settings import RunSettings
from workbench.web import output_stem

pytest.importorskip("trafilatura")

runner = CliRunner()

NEWS = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Ferry goes electric | The Harbour Times</title>
<meta name="author" content="Maria Lindqvist">
<meta property="article:published_time" content="2026-01-09T08:00:00Z">
</head><body>
<header><nav><a href="/">Home</a> | <a href="/world">World</a> | <a href="/sport">Sport</a>
| <a href="/subscribe">Subscribe for 1 euro a week</a></nav></header>
<div class="advert">ADVERTISEMENT: Cheap flights to Lisbon, book today at FlyCheap!</div>
<main><article>
<h1>City council approves electric ferry for the harbour crossing</h1>
<p class="byline">By Maria Lindqvist</p>
<p>The city council voted 31 to 8 on Thursday to replace the diesel ferry that links the old
harbour with the island district. The new vessel will run on batteries charged overnight.</p>
<p>Officials said the ferry would carry up to 240 passengers, according to the
<a href="https://council.example.org/minutes/2026-01-08?item=4">meeting minutes</a>.
Dr. Helen Park called it "the cheapest climate measure on our list."</p>
<h2>What changes for passengers</h2>
<ul><li>Crossings every 15 minutes at peak times.</li>
<li>Bicycles travel free of charge.</li>
<li>Tickets stay at the <a href="/fares">current price</a>.</li></ul>
<p>Not everyone was convinced. "We were promised a bridge in 2019," said Tomas Ek, who runs a
bakery near the pier. The first crossing is planned for the spring of next year.</p>
</article></main>
<aside><h3>Most read</h3><ul><li><a href="/x">Celebrity chef opens a new restaurant</a></li>
</ul></aside>
<footer><p>Copyright 2026 The Harbour Times. All rights reserved.</p>
<a href="/privacy">Privacy policy</a> <a href="/cookies">Cookie settings</a></footer>
</body></html>
"""
SECOND = """<html><head><meta charset="utf-8"><title>Library opens at night</title></head><body>
<nav><a href="/">Home</a> <a href="/culture">Culture</a></nav><article>
<h1>City library opens its doors at night</h1>
<p>The central library will stay open until midnight from March, the city said on Monday.
Students had asked for more quiet places to study during the exam season.</p>
<p>The late hours will be staffed by volunteers and two librarians, and the reading rooms on
the second floor will be the only ones open after ten in the evening.</p>
</article><footer>Copyright 2026 The Harbour Times</footer></body></html>
"""
# Ukrainian, served in windows-1251 with the charset declared by the server only.
CYRILLIC = """<html><head><title>Новини</title></head><body><article>
<h1>Міська рада схвалила електричний пором</h1>
<p>Міська рада у четвер проголосувала за заміну дизельного порому, що сполучає стару гавань
з острівним районом. Нове судно працюватиме на акумуляторах, які заряджатимуть уночі.</p>
<p>Посадовці кажуть, що пором перевозитиме до 240 пасажирів і скоротить час переправи.</p>
</article></body></html>
"""
XHTML = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Ferry</title></head><body><article>
<h1>Council votes on the ferry</h1>
<p>The city council voted 31 to 8 on Thursday to replace the diesel ferry that links the old
harbour with the island district, officials said after the meeting.</p>
</article></body></html>
"""
LOGIN = """<html><head><title>Sign in</title><script>var session = 1;</script></head><body>
<form action="/login"><input name="user"><input name="password" type="password"></form>
</body></html>
"""
BOILERPLATE = ("ADVERTISEMENT", "FlyCheap", "Subscribe", "Most read", "Celebrity", "Copyright")
BIG = 20_000_000


class Handler(BaseHTTPRequestHandler):
    """The test site: pages, errors, a slow answer, a huge page, redirects."""

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        path = urlsplit(self.path).path  # a proxy is asked for the whole URL
        try:
            if path == "/news/harbour-ferry.html":
                self.send(200, NEWS.encode("utf-8"))
            elif path == "/news/library.html":
                self.send(200, SECOND.encode("utf-8"))
            elif path == "/news/cyrillic.html":
                self.send(200, CYRILLIC.encode("cp1251"), "text/html; charset=windows-1251")
            elif path == "/news/strict.xhtml":
                self.send(200, XHTML.encode("utf-8"), "application/xhtml+xml")
            elif path == "/login":
                self.send(200, LOGIN.encode("utf-8"))
            elif path == "/broken":
                self.send(500, b"<html><body>Internal error</body></html>")
            elif path == "/slow":
                time.sleep(2)
                self.send(200, NEWS.encode("utf-8"))
            elif path == "/huge":  # declares its 20 MB
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(BIG))
                self.end_headers()
                self.stream(BIG)
            elif path == "/huge-undeclared":  # no length: the client must stop reading
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Connection", "close")
                self.end_headers()
                self.stream(BIG)
            elif path == "/data.json":
                self.send(200, b'{"title": "not a page"}', "application/json")
            elif path == "/photo.png":
                self.send(200, b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")
            elif path == "/loop":
                self.redirect(302, "/loop")
            elif path == "/moved":
                self.redirect(301, "/news/harbour-ferry.html")
            elif path == "/to-ftp":
                self.redirect(302, "ftp://127.0.0.1/story.html")
            elif path == "/no-location":
                self.redirect(302, "")
            else:
                self.send(404, b"<html><body>Not found</body></html>")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what the limits are for

    def stream(self, size: int) -> None:
        chunk = b"<p>" + b"x" * 65_529 + b"</p>\n"
        sent = 0
        while sent < size:
            self.wfile.write(chunk)
            sent += len(chunk)


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: list[str] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up mid-page is expected here

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    # The suite runs with HF_HUB_OFFLINE=1, which also means "fetch no pages": these tests
    # fetch from this machine only.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):  # fetched directly
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def base_args(model: Path, cache: Path | None = None) -> list[str]:
    cache_args = ["--cache", str(cache)] if cache else ["--no-cache"]
    return ["--model", str(model), "--beams", "1", "--backend", "torch", *cache_args]


def errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("workbench: error:")]


def provenance(output: Path) -> dict:
    return json.loads(output.with_name(output.name + ".json").read_text("utf-8"))


# --- extraction -----------------------------------------------------------------------------


def test_article_is_extracted_with_its_furniture_and_without_boilerplate(site: Site) -> None:
    url = site.url("/news/harbour-ferry.html")
    doc, fetched = Workbench(cache=False).read_url(url)
    text = doc.render()
    assert doc.fmt == "md" and doc.source == url
    lines = text.splitlines()
    assert lines[:6] == [
        "# City council approves electric ferry for the harbour crossing",
        "",
        "By Maria Lindqvist",
        "Published: 2026-01-09",
        f"Original: {url}",
        "",
    ]
    kinds = [b.kind for b in doc.blocks if b.kind != "blank"]
    assert kinds[:4] == ["title", "meta", "meta", "source"]
    assert kinds.count("heading") == 1 and kinds.count("list_item") == 3
    assert "## What changes for passengers" in lines
    assert "- Bicycles travel free of charge." in lines
    # Links are Markdown links; a relative one is resolved against the page's address.
    assert "[meeting minutes](https://council.example.org/minutes/2026-01-08?item=4)" in text
    assert f"[current price]({site.url('/fares')})" in text
    assert "We were promised a bridge in 2019" in text
    for word in BOILERPLATE:
        assert word not in text, word
    # The document parses back as Markdown: it is what a file of this text would be.
    assert parse(text, "md").render() == text
    assert fetched["sha256"] == hashlib.sha256(NEWS.encode("utf-8")).hexdigest()
    assert fetched["status"] == 200 and fetched["final_url"] == url and fetched["redirects"] == 0


def test_redirect_is_followed_and_recorded_and_charset_is_honoured(site: Site) -> None:
    wb = Workbench(cache=False)
    doc, fetched = wb.read_url(site.url("/moved"))
    assert fetched["url"] == site.url("/moved") and fetched["redirects"] == 1
    assert fetched["final_url"] == site.url("/news/harbour-ferry.html")
    assert f"Original: {site.url('/moved')}" in doc.render()  # the address as given
    doc, _ = wb.read_url(site.url("/news/cyrillic.html"))
    assert "# Міська рада схвалила електричний пором" in doc.render()
    doc, _ = wb.read_url(site.url("/news/strict.xhtml"))  # XML declaration and all
    assert doc.render().startswith("# Council votes on the ferry\n")


def test_proxy_from_the_environment_is_used(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test site acts as the proxy: it is asked for the whole URL of a host that does not
    # exist, which only a proxy can reach.
    monkeypatch.setenv("HTTP_PROXY", site.url(""))
    url = "http://news.invalid/news/harbour-ferry.html"
    doc, fetched = Workbench(cache=False).read_url(url)
    assert site.hits == [url] and fetched["status"] == 200
    assert doc.render().startswith("# City council approves electric ferry")
    monkeypatch.setenv("NO_PROXY", "news.invalid")  # a host the proxy is not used for
    with pytest.raises(InputError, match=r"^http://news.invalid/news/harbour-ferry.html: could"):
        Workbench(cache=False).read_url(url)
    assert len(site.hits) == 1


def test_output_names_are_safe_stable_and_distinct() -> None:
    a = output_stem("https://news.example.com/2026/01/story.html")
    assert a.startswith("news.example.com-2026-01-story-") and len(a.rsplit("-", 1)[1]) == 8
    assert output_stem("https://news.example.com/2026/01/story.html") == a
    assert output_stem("https://news.example.com/2026/01/story.html#comments") == a
    assert output_stem("https://news.example.com/2026/01/story.html?page=2") != a
    assert output_stem("https://news.example.com/2026-01/story.html") != a
    for url in (
        "https://x.example/../../../etc/passwd",
        "http://127.0.0.1:8080/a/..%2F..%2Fb",
        "https://example.com/" + "long-" * 100,
        "https://例え.jp/ニュース",
        "https://example.com",
        "http://[::1/story.html",
        "http://127.0.0.1:port/a",
    ):
        stem = output_stem(url)
        assert "/" not in stem and "\\" not in stem and not stem.startswith(".")
        assert len(stem) <= 90 and stem.strip("-.")


# --- end to end -------------------------------------------------------------------------------


def test_cli_translates_a_url_and_a_rerun_is_a_cache_hit(tiny, site: Site, tmp_path: Path) -> None:
    url = site.url("/news/harbour-ferry.html")
    out = tmp_path / "out"
    cache = tmp_path / "cache.sqlite3"
    args = ["translate", url, "--to", "uk", "--from", "en", "--out", str(out)]
    first = cli(*args, *base_args(tiny("marian-multi"), cache))
    assert first.exit_code == 0, first.output
    (output,) = out.glob("*.uk.md")
    assert output.name == f"{output_stem(url)}.uk.md"
    assert output.name.startswith(f"127.0.0.1-{site.server_address[1]}-news-harbour-ferry-")
    translated = output.read_text("utf-8")
    # The structure of the extracted article is kept, URLs byte for byte.
    assert translated.startswith("# ") and translated.count("\n- ") == 3
    assert url in translated
    assert "(https://council.example.org/minutes/2026-01-08?item=4)" in translated
    prov = provenance(output)
    assert prov["input"] == url and prov["input_format"] == "article"
    fetched = prov["fetch"]
    assert fetched["url"] == fetched["final_url"] == url and fetched["status"] == 200
    assert fetched["sha256"] == hashlib.sha256(NEWS.encode("utf-8")).hexdigest()
    assert fetched["fetched_at"].endswith("Z") and fetched["bytes"] == len(NEWS.encode())
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text("utf-8").splitlines()]
    assert [(r["input"], r["lang"], r["cache"]) for r in rows] == [(url, "uk", "miss")]
    # Fetched again, the page is the same article: a cache hit, and the same output.
    hits = len(site.hits)
    again = cli(*args, *base_args(tiny("marian-multi"), cache))
    assert again.exit_code == 0, again.output
    assert len(site.hits) == hits + 1  # it was fetched again
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text("utf-8").splitlines()]
    assert [r["cache"] for r in rows] == ["document"]
    assert output.read_text("utf-8") == translated


def test_api_translates_and_summarises_a_url(tiny, site: Site, tmp_path: Path) -> None:
    url = site.url("/news/harbour-ferry.html")
    cache = tmp_path / "cache.sqlite3"
    model = str(tiny("marian-multi"))
    first = Workbench(cache=cache, backend="torch", beams=1).translate_url(
        url, to="uk", src="en", model=model
    )
    assert first.error is None and first.cache == "miss" and first.path == url
    assert first.fetch is not None and first.provenance()["fetch"]["url"] == url
    assert first.fetch["sha256"] == hashlib.sha256(NEWS.encode("utf-8")).hexdigest()
    # A fresh Workbench: the re-fetched, unchanged page is a document hit and loads no model.
    wb = Workbench(cache=cache, backend="torch", beams=1)
    second = wb.translate_url(url, to="uk", src="en", model=model)
    assert second.cache == "document" and second.misses == 0 and second.text == first.text
    assert wb.pool.loaded == []
    # The same article saved as a file and read with fmt="article" is the same document.
    saved = tmp_path / "story.html"
    saved.write_text(NEWS, encoding="utf-8")
    from_file = wb.translate(saved, to="uk", src="en", model=model, fmt="article")
    # Without its Original: line it is another document, made of sentences already cached.
    assert from_file.cache == "segments" and from_file.misses == 0 and wb.pool.loaded == []
    summary = wb.summarise_url(url, model="lead", sentences=2)
    assert summary.error is None and summary.fetch is not None
    assert summary.text.startswith("The city council voted 31 to 8")
    assert "Maria" not in summary.text and "Original" not in summary.text  # furniture is not body


def test_cli_summarises_a_url_with_a_file(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    url = site.url("/news/library.html")
    seed = SEEDS / "en" / "chess-prodigy.md"
    result = cli("summarise", url, str(seed), "--model", "lead", "--out", str(out))
    assert result.exit_code == 0, result.output
    (summary,) = out.glob("127.0.0.1-*.summary.en.md")
    assert summary.read_text("utf-8").startswith("The central library will stay open")
    assert provenance(summary)["fetch"]["url"] == url
    assert (out / "chess-prodigy.summary.en.md").is_file()


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["--offline", "HF_HUB_OFFLINE"])
def test_offline_fetches_nothing(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    url = site.url("/news/harbour-ferry.html")
    flags = ["--offline"] if how == "--offline" else []
    if how == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    seed = SEEDS / "en" / "chess-prodigy.md"
    out = tmp_path / "out"
    result = cli("summarise", url, str(seed), "--model", "lead", "--out", str(out), *flags)
    assert result.exit_code == 1, result.output
    (line,) = errors(result.output)
    assert line.startswith(f"workbench: error: {url}: not fetched: offline mode")
    assert site.hits == []  # nothing was fetched
    assert (out / "chess-prodigy.summary.en.md").is_file()  # the file still finished


def test_malformed_pages_are_one_line_each_and_the_others_finish(
    site: Site, tmp_path: Path
) -> None:
    """Every way a URL can fail, in one job run with good inputs between them."""
    refused = f"http://127.0.0.1:{closed_port()}/news/story.html"
    bad = {
        site.url("/nothing-here.html"): "answered HTTP 404",
        site.url("/broken"): "answered HTTP 500",
        site.url("/slow"): "timed out after 0.5 s",
        site.url("/huge"): "the page is 20.0 MB, over the limit of 10.0 MB",
        site.url("/huge-undeclared"): "the page goes on past the limit of 10.0 MB",
        site.url("/data.json"): "is application/json, not a web page",
        site.url("/photo.png"): "is image/png, not a web page",
        site.url("/loop"): "redirected more than 5 times (a redirect loop?)",
        site.url("/to-ftp"): "redirects to ftp://127.0.0.1/story.html; only http and https",
        site.url("/no-location"): "answered HTTP 302 with no Location",
        site.url("/login"): "no article text was found in this page",
        refused: "could not connect (",
        "ftp://127.0.0.1/story.html": "only http and https URLs are read",
        "file:///etc/passwd": "only http and https URLs are read",
        "http://": "is not a valid URL",
        "https://exa mple.com/story.html": "is not a valid URL",
        "http://127.0.0.1:port/story.html": "is not a valid URL",
        "http://[::1/story.html": "is not a valid URL",
    }
    good = [site.url("/news/harbour-ferry.html"), site.url("/news/library.html")]
    seed = SEEDS / "en" / "chess-prodigy.md"
    inputs = [good[0], *bad, good[1], str(seed)]
    job = tmp_path / "job.toml"
    job.write_text(
        f"inputs = {json.dumps(inputs)}\nout = 'out'\nfetch_timeout = 0.5\n"
        "[[steps]]\ntask = 'summarise'\nto = ['own']\nmodel = 'lead'\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    result = cli("run", str(job))
    assert time.monotonic() - started < 30  # the slow and huge pages did not hold the run
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = errors(result.output)
    for url, message in bad.items():
        # One line each; inputs failing the same way share a line that names them all.
        (line,) = [line for line in lines if f" {url}: " in line or f" {url}, " in line]
        assert message in line, line
    out = tmp_path / "out"
    done = sorted(p.name for p in out.glob("*.summary.en.md"))
    assert len(done) == 3 and "chess-prodigy.summary.en.md" in done
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text("utf-8").splitlines()]
    assert {r["input"] for r in rows} == {*bad, *good, str(seed)}
    print(f"malformed inputs tried: {len(bad)}")


def test_the_page_limit_is_a_setting(site: Site, tmp_path: Path) -> None:
    wb = Workbench(cache=False, run=RunSettings(max_page_bytes=1000))
    with pytest.raises(InputError, match=r"over the limit of 1,000 bytes; raise max_page_bytes"):
        wb.read_url(site.url("/news/harbour-ferry.html"))
    with pytest.raises(InputError, match="redirected more than 0 times"):
        Workbench(cache=False, run=RunSettings(max_redirects=0)).read_url(site.url("/moved"))


# --- saved pages and --format ------------------------------------------------------------------


def test_saved_page_with_format_article(tiny, tmp_path: Path) -> None:
    saved = tmp_path / "story.html"
    saved.write_text(NEWS, encoding="utf-8")
    out = tmp_path / "out"
    result = cli(
        "translate",
        str(saved),
        "--format",
        "article",
        "--to",
        "uk",
        "--from",
        "en",
        "--out",
        str(out),
        *base_args(tiny("marian-multi")),
    )
    assert result.exit_code == 0, result.output
    output = out / "story.uk.md"
    text = output.read_text("utf-8")
    assert text.startswith("# ") and text.count("\n- ") == 3
    assert "(https://council.example.org/minutes/2026-01-08?item=4)" in text
    for word in BOILERPLATE:
        assert word not in text
    prov = provenance(output)
    assert prov["input"] == str(saved) and prov["input_format"] == "article"
    assert "fetch" not in prov
    # From stdin too, and in a job file.
    piped = cli(
        "summarise", "-", "--format", "article", "--model", "lead", "--sentences", "1", input=NEWS
    )
    assert piped.exit_code == 0, piped.output
    assert piped.stdout.startswith("The city council voted 31 to 8")
    job = tmp_path / "job.toml"
    job.write_text(
        "inputs = ['story.html']\nout = 'published'\nformat = 'article'\n"
        "[[steps]]\ntask = 'summarise'\nto = ['own']\nmodel = 'lead'\n",
        encoding="utf-8",
    )
    ran = cli("run", str(job))
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / "published" / "story.summary.en.md").is_file()


def test_unknown_format_is_one_line_listing_the_formats(tmp_path: Path) -> None:
    seed = str(SEEDS / "en" / "heatwave-grid.txt")
    for command in (["translate", seed, "--to", "uk"], ["summarise", seed, "--model", "lead"]):
        result = cli(*command, "--format", "odt", "--out", str(tmp_path / "o"))
        assert result.exit_code == 2, result.output
        (line,) = errors(result.output)
        names = ", ".join(f.name for f in formats.all_formats())
        assert line == f"workbench: error: unknown format 'odt'; the formats are {names}"
        assert "article" in names
    job = tmp_path / "job.toml"
    job.write_text(
        "inputs = ['a.md']\nout = 'o'\nformat = 'odt'\n[[steps]]\ntask = 'summarise'\nto = ['own']\n",
        encoding="utf-8",
    )
    result = cli("run", str(job))
    assert result.exit_code == 2 and "format: unknown format 'odt'" in result.output


def test_help_imports_no_web_library() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from workbench.cli.app import app\n"
        "assert CliRunner().invoke(app, ['translate', '--help']).exit_code == 0\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'trafilatura', 'urllib3', 'lxml', 'torch'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
