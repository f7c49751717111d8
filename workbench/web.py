"""Web pages as inputs: fetching a URL safely, naming its outputs, and reading it as a document.

A URL (``http://`` or ``https://``) is accepted wherever a file is: on the command line, in a
job file's ``inputs`` and in the Python API (``Workbench.translate_url``). The page is fetched
with urllib3, the HTTP client trafilatura (the article extractor) already depends on, so the
``web`` extra adds nothing else; urllib3 lets each limit be set exactly:

- a time limit for the whole fetch (``RunSettings.fetch_timeout``): connecting, waiting for the
  answer and every read of the body, so a server that trickles bytes cannot hold a run;
- a size limit (``RunSettings.max_page_bytes``, default 10 MB): a declared length over it is
  refused before the body is read, and the body is streamed and dropped once past it;
- at most ``RunSettings.max_redirects`` redirects, followed here one by one so that each target
  must be http or https too (a loop is refused when the limit is reached);
- only HTML answers (``text/html``, ``application/xhtml+xml``);
- the proxy the environment names (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``), as the
  standard library reads it.

Offline mode (``--offline``, ``HF_HUB_OFFLINE=1``) fetches nothing: a URL is an error saying so.
Every problem is one ``InputError`` line naming the URL; the other inputs of a run go on.

The page is then read in the chosen format (``--format``; by default ``article``, which
extracts the story: ``workbench/formats/article.py``). What was fetched is recorded for the
provenance (``Page.record``): the URL, the address after redirects, the HTTP status, the time
and the sha256 of the bytes. Nothing here is imported until a URL is read.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from workbench import formats
from workbench.errors import InputError
from workbench.version import __version__

if TYPE_CHECKING:
    from workbench.documents import Document
    from workbench.settings import RunSettings

#: The format a URL is read in unless another is chosen.
DEFAULT_FORMAT = "article"
#: Content types of web pages (parameters such as charset aside).
HTML_TYPES = ("text/html", "application/xhtml+xml")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SLUG = re.compile(r"[^A-Za-z0-9.]+")
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


def is_url(text: str) -> bool:
    """Whether an input names a URL (``scheme://...``) rather than a file."""
    return bool(_SCHEME.match(text))


def output_stem(url: str) -> str:
    """A file name (no suffix) for a URL's outputs: host and path as a slug, then a hash.

    ``https://news.example.com/2026/01/story.html`` → ``news.example.com-2026-01-story-1a2b3c4d``.
    Only letters, digits, dots and dashes, never a path separator or a leading dot, so it stays
    inside the output folder; stable for a URL; the hash of the whole URL (query included, the
    fragment, which never reaches the server, left out) keeps two URLs from sharing a name.
    """
    try:
        parts = urlsplit(url)
        host, port, raw = (parts.hostname or "page").lower(), parts.port, parts.path
        whole = parts._replace(fragment="").geturl()
    except ValueError:  # not a valid URL: reading it says so; the name need only be safe
        host, port, raw, whole = "page", None, url, url
    if port:
        host += f"-{port}"
    path = PurePosixPath(raw or "/")
    if path.suffix.lower() in (".html", ".htm", ".shtml", ".php", ".asp", ".aspx", ".jsp"):
        path = path.with_suffix("")
    slug = _SLUG.sub("-", f"{host}-{path}").strip("-.")
    slug = re.sub(r"[^A-Za-z0-9.-]", "", slug)[:80].strip("-.") or "page"
    digest = hashlib.sha256(whole.encode("utf-8")).hexdigest()
    return f"{slug}-{digest[:8]}"


@dataclass(frozen=True)
class Page:
    """A fetched page: its bytes and how they came."""

    url: str  # as given
    final_url: str  # after redirects
    status: int
    content_type: str
    data: bytes
    fetched_at: str  # ISO 8601, UTC
    redirects: int

    def text(self) -> str:
        """The page decoded: the charset the server declared, else UTF-8, else a guess."""
        declared = _param(self.content_type, "charset")
        for encoding in (declared, "utf-8"):
            if encoding:
                try:
                    return self.data.decode(encoding)
                except (LookupError, UnicodeDecodeError):
                    continue
        from charset_normalizer import from_bytes  # a dependency of trafilatura

        best = from_bytes(self.data).best()
        if best is None:
            raise InputError(self.url, "is not text in any encoding workbench can tell")
        return str(best)

    def record(self) -> dict[str, Any]:
        """What the provenance records of the fetch."""
        return {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "content_type": self.content_type,
            "fetched_at": self.fetched_at,
            "bytes": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "redirects": self.redirects,
        }


def _param(content_type: str, name: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip("\"'") or None
    return None


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def check_url(url: str) -> None:
    """Refuse what is not an http or https URL with a host, in one line naming it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InputError(url, f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InputError(url, "only http and https URLs are read; save the page and pass the file")
    if not host or any(ch.isspace() for ch in url):
        raise InputError(url, "is not a valid URL (no host, or a space in it); check it")


def fetch(url: str, settings: RunSettings) -> Page:
    """Fetch ``url`` within the limits of ``settings`` (see the module doc)."""
    check_url(url)
    if settings.offline or _env_offline():
        raise InputError(
            url,
            "not fetched: offline mode (--offline or HF_HUB_OFFLINE=1) reads no web pages; "
            "save the page and pass the file with --format article",
        )
    try:
        import urllib3
    except ImportError:
        from workbench.formats.article import WEB_EXTRA

        raise InputError(url, f"reading URLs needs the web extra: {WEB_EXTRA}") from None
    fetching = _Fetch(url, settings, urllib3)
    try:
        return fetching.run()
    finally:
        for manager in fetching.managers.values():
            manager.clear()


class _Fetch:
    """One fetch: its redirects, time limit and size limit."""

    def __init__(self, url: str, settings: RunSettings, urllib3: Any) -> None:
        self.url, self.settings, self.urllib3 = url, settings, urllib3
        self.deadline = time.monotonic() + settings.fetch_timeout
        self.managers: dict[str, Any] = {}  # by proxy ("": direct), made when first needed

    def manager(self, url: str) -> Any:
        """The connection pool for ``url``: through the proxy the environment names for its
        scheme (``HTTPS_PROXY``, ``HTTP_PROXY``; not for a host in ``NO_PROXY``), else direct."""
        import urllib.request  # the standard library's reading of the proxy variables

        parts = urlsplit(url)
        proxy = urllib.request.getproxies().get(parts.scheme.lower(), "")
        if proxy and urllib.request.proxy_bypass(parts.hostname or ""):
            proxy = ""
        if proxy not in self.managers:
            headers = {
                "User-Agent": f"workbench/{__version__} (news translation)",
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            }
            make = self.urllib3.ProxyManager if proxy else self.urllib3.PoolManager
            args = (proxy,) if proxy else ()
            self.managers[proxy] = make(*args, headers=headers, retries=False)
        return self.managers[proxy]

    def fail(self, problem: str) -> InputError:
        return InputError(self.url, problem)

    def timed_out(self, during: str = "") -> InputError:
        return self.fail(
            f"timed out after {self.settings.fetch_timeout:g} s{during}; try again later, "
            "or raise fetch_timeout"
        )

    def run(self) -> Page:
        current = self.url
        for hops in range(self.settings.max_redirects + 1):
            response = self.get(current)
            try:
                if response.status not in _REDIRECTS:
                    return self.body(response, current, hops)
                location = response.headers.get("Location")
            finally:
                response.close()  # never reused: the pool is this fetch's own
            if not location:
                raise self.fail(f"answered HTTP {response.status} with no Location to go to")
            current = urljoin(current, location)
            if urlsplit(current).scheme.lower() not in ("http", "https"):
                raise self.fail(f"redirects to {current}; only http and https are followed")
        raise self.fail(
            f"redirected more than {self.settings.max_redirects} times (a redirect loop?); "
            "check the URL in a browser"
        )

    def get(self, current: str) -> Any:
        errors = self.urllib3.exceptions
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out()
        try:
            return self.manager(current).request(
                "GET",
                current,
                preload_content=False,
                redirect=False,
                timeout=self.urllib3.Timeout(connect=left, read=left),
            )
        except errors.NewConnectionError as exc:  # before TimeoutError: it is one in urllib3
            raise self.fail(f"could not connect ({_reason(exc)}); check the address") from None
        except errors.TimeoutError:
            raise self.timed_out() from None
        except errors.HTTPError as exc:
            raise self.fail(f"could not be fetched ({_reason(exc)})") from None

    def body(self, response: Any, final: str, hops: int) -> Page:
        if response.status >= 400 or response.status < 200:
            reason = f" {response.reason}" if response.reason else ""
            raise self.fail(f"answered HTTP {response.status}{reason}; nothing to read")
        content_type = response.headers.get("Content-Type", "")
        kind = content_type.split(";")[0].strip().lower()
        if kind and kind not in HTML_TYPES:
            raise self.fail(f"is {kind}, not a web page (HTML); pass an article's page")
        limit = self.settings.max_page_bytes
        declared = response.headers.get("Content-Length", "")
        if limit and declared.isdigit() and int(declared) > limit:
            raise self.fail(_too_big(limit, f"is {_mb(int(declared))}, over the limit"))
        data = bytearray()
        errors = self.urllib3.exceptions
        try:
            for chunk in response.stream(_CHUNK):
                data += chunk
                if limit and len(data) > limit:
                    raise self.fail(_too_big(limit, "goes on past the limit"))
                if time.monotonic() > self.deadline:
                    raise self.timed_out(" while reading the page")
        except errors.TimeoutError:
            raise self.timed_out(" while reading the page") from None
        except errors.HTTPError as exc:
            raise self.fail(f"the page could not be read ({_reason(exc)})") from None
        return Page(
            url=self.url,
            final_url=final,
            status=response.status,
            content_type=content_type,
            data=bytes(data),
            fetched_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            redirects=hops,
        )


def _reason(exc: BaseException) -> str:
    """The end of urllib3's message ("...: [Errno 111] Connection refused")."""
    lines = str(exc).strip().splitlines()
    return (lines[0].rsplit(": ", 1)[-1] if lines else "") or type(exc).__name__


def _too_big(limit: int, size: str) -> str:
    return (
        f"the page {size} of {_mb(limit)}; raise max_page_bytes (WORKBENCH_MAX_PAGE_BYTES) "
        "if it really is one article"
    )


def _env_offline() -> bool:
    from workbench.settings import env_offline

    return env_offline()


def read_url(url: str, settings: RunSettings, fmt: str | None = None) -> tuple[Document, Page]:
    """Fetch ``url`` and read it in the format named ``fmt`` (default ``article``)."""
    chosen = formats.get(fmt or DEFAULT_FORMAT)
    page = fetch(url, settings)
    text = page.text()
    parse_page = getattr(chosen, "parse_page", None)
    if parse_page is not None:  # an extracting format resolves links against the final URL
        doc = parse_page(text, url, url=url, base=page.final_url)
    else:
        doc = chosen.parse(text, url)
    return doc, page
