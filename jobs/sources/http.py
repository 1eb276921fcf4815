"""The one HTTP client and the one way to fetch a payload.

`fetch_url` is the only place that talks to the network or reads a mirrored file:
- explicit timeouts and a User-Agent naming the project and version (and the operator's
  contact, when one is set: settings.contact / DOMSHARE_CONTACT);
- retries with exponential backoff (tenacity) for timeouts, connection errors, truncated
  bodies, HTTP 429 and 5xx, honouring `Retry-After` (capped, so a server cannot park us);
- conditional GET (`If-None-Match` / `If-Modified-Since`): 304 comes back as
  `Fetched.not_modified`;
- a body size limit, enforced while streaming;
- foreign exceptions translated here: SourceUnavailable (try later) or SourceChanged
  (a human must look). A 404 is `NotFound` (a SourceChanged) so callers that expect
  "not published yet" can tell it apart;
- redirects followed here (at most MAX_REDIRECTS), to http(s) URLs only.
`file://` URLs and plain paths are read from disk, so a source can point at a mirror.
"""
from __future__ import annotations

import datetime as dt
import email.message
import email.utils
import logging
import posixpath
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from jobs.errors import NotFound, SourceChanged, SourceUnavailable

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("domshare")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


USER_AGENT = f"domshare/{_version()}"


def user_agent(contact: str | None = None) -> str:
    """`domshare/<version>`, plus `(+<contact>)` when the operator gave one (settings.contact,
    DOMSHARE_CONTACT): a site owner who sees our requests can then reach whoever runs them."""
    if not contact or not contact.strip():
        return USER_AGENT
    clean = " ".join(contact.split()).encode("ascii", "backslashreplace").decode("ascii")
    return f"{USER_AGENT} (+{clean})"


@dataclass(frozen=True)
class HttpOptions:
    """Per-source network settings (the `[sources.http]`-style keys in sources.toml)."""

    timeout: float = 60.0  # seconds for read/write; connect uses connect_timeout
    connect_timeout: float = 10.0
    attempts: int = 3  # total tries, the first included
    backoff_base: float = 1.0  # seconds; waits are base * 2**(n-1), capped by max_wait
    max_wait: float = 120.0  # cap for backoff and for a server's Retry-After
    max_bytes: int = 50 * 1024 * 1024

    @classmethod
    def from_mapping(cls, values: dict) -> "HttpOptions":
        """ValueError naming the key for an unknown key or a value that is not a positive
        number (attempts and max_bytes: a positive whole number)."""
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(cls.__dataclass_fields__)})")
        for key, value in values.items():
            whole = key in ("attempts", "max_bytes")
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) \
                    or not value > 0 or value == float("inf"):
                raise ValueError(f"{key} = {value!r}: must be a positive "
                                 + ("whole number" if whole else "number of seconds"))
        return cls(**values)


@dataclass
class Fetched:
    """One fetched payload. `content is None` means 304 Not Modified."""

    url: str
    content: bytes | None
    status: int | None  # HTTP status; None for a local file
    media_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    filename: str | None = None  # the server's download name (Content-Disposition), if any

    @property
    def not_modified(self) -> bool:
        return self.content is None


def make_client(options: HttpOptions | None = None, contact: str | None = None) -> httpx.Client:
    options = options or HttpOptions()
    return httpx.Client(
        timeout=httpx.Timeout(options.timeout, connect=options.connect_timeout),
        headers={"User-Agent": user_agent(contact)},
        follow_redirects=False,  # fetch_url follows them itself, http(s) targets only
        event_hooks={"response": [_check_redirect]},
    )


def _check_redirect(response: httpx.Response) -> None:
    """Refuse a redirect to a non-http(s) target as soon as it arrives: httpx would otherwise
    fail on an unparseable one (`javascript:...`) before fetch_url sees the Location."""
    if response.has_redirect_location:
        _redirect_target(str(response.request.url), response.headers.get("Location"))


MAX_REDIRECTS = 5
REDIRECT_CODES = {301, 302, 303, 307, 308}


class _Redirect(Exception):
    def __init__(self, location: str | None):
        super().__init__(location)
        self.location = location


def _redirect_target(url: str, location: str | None) -> str:
    """Where a redirect leads; only to another http(s) URL (never file:, javascript: ...)."""
    if not location:
        raise SourceChanged(f"{url}: redirect without a Location header")
    target = urljoin(url, location.strip())
    if urlparse(target).scheme not in ("http", "https"):
        raise SourceChanged(f"{url}: redirected to {location[:200]!r}, which is not an http(s) URL: refused")
    return target


def download_name(content_disposition: str | None) -> str | None:
    """The file name a server gives its download (`attachment; filename=...`, RFC 6266)."""
    if not content_disposition:
        return None
    message = email.message.Message()
    message["Content-Disposition"] = content_disposition
    name = message.get_filename()
    return posixpath.basename(name.replace("\\", "/")) if name else None


class _Retryable(Exception):
    """A failure worth another try; `retry_after` is the server's hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """`Retry-After` is either delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _wait_strategy(options: HttpOptions):
    exponential = wait_exponential(multiplier=options.backoff_base, max=options.max_wait)

    def wait(retry_state) -> float:
        hint = getattr(retry_state.outcome.exception(), "retry_after", None)
        if hint is not None:
            return min(hint, options.max_wait)
        return exponential(retry_state)

    return wait


def local_path(url: str) -> Path | None:
    """The path a `file://` URL or a plain path names; None for http(s) URLs."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme in ("http", "https"):
        return None
    if parsed.scheme and len(parsed.scheme) > 1:
        raise SourceChanged(f"{url}: unsupported URL scheme {parsed.scheme!r} (use http(s), file:// or a path)")
    return Path(url)  # a plain (possibly Windows drive-letter) path


def _read_file(path: Path, url: str, max_bytes: int) -> Fetched:
    if not path.is_file():
        raise NotFound(f"{url}: no such file {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise SourceChanged(f"{url}: file is {size} bytes, over the {max_bytes}-byte limit")
    return Fetched(url=url, content=path.read_bytes(), status=None)


def _get_once(client: httpx.Client, url: str, headers: dict, max_bytes: int) -> Fetched:
    try:
        with client.stream("GET", url, headers=headers) as response:
            code = response.status_code
            if code == 304:
                return Fetched(url=url, content=None, status=304,
                               etag=response.headers.get("ETag"),
                               last_modified=response.headers.get("Last-Modified"))
            if code in REDIRECT_CODES:
                raise _Redirect(response.headers.get("Location"))
            if code == 429 or code >= 500:
                raise _Retryable(f"HTTP {code}", parse_retry_after(response.headers.get("Retry-After")))
            if code == 404:
                raise NotFound(f"{url}: HTTP 404 Not Found")
            if code >= 400:
                raise SourceChanged(f"{url}: HTTP {code} (the URL or the site's access rules changed)")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise SourceChanged(f"{url}: body of {declared} bytes is over the {max_bytes}-byte limit")
            chunks, total = [], 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise SourceChanged(f"{url}: body is over the {max_bytes}-byte limit (stopped reading)")
                chunks.append(chunk)
            received = response.num_bytes_downloaded  # bytes on the wire, before decoding
            if declared and declared.isdigit() and received != int(declared):
                raise _Retryable(f"truncated body: {received} of {declared} bytes")
            return Fetched(
                url=str(response.url), content=b"".join(chunks), status=code,
                media_type=response.headers.get("Content-Type"),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                filename=download_name(response.headers.get("Content-Disposition")),
            )
    except httpx.TimeoutException as exc:
        raise _Retryable(f"timed out ({type(exc).__name__})") from exc
    except (httpx.DecodingError, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise SourceChanged(f"{url}: {exc}") from exc
    except httpx.TransportError as exc:  # connect errors, resets, incomplete bodies
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc


def fetch_url(
    client: httpx.Client,
    url: str,
    *,
    options: HttpOptions | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET `url` (or read the file it names) with retries; see the module docstring."""
    options = options or HttpOptions()
    path = local_path(url)
    if path is not None:
        return _read_file(path, url, options.max_bytes)
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified

    def log_retry(state) -> None:
        log.warning("%s: %s; retrying in %.1fs (attempt %d of %d)", url,
                    state.outcome.exception(), state.next_action.sleep,
                    state.attempt_number + 1, options.attempts)

    retrying = Retrying(
        stop=stop_after_attempt(max(1, options.attempts)),
        wait=_wait_strategy(options),
        retry=retry_if_exception_type(_Retryable),
        before_sleep=log_retry,
        reraise=True,
    )
    current = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                return retrying(_get_once, client, current, headers, options.max_bytes)
            except _Redirect as redirect:
                current = _redirect_target(current, redirect.location)
    except _Retryable as exc:
        raise SourceUnavailable(f"{url}: {exc} (after {options.attempts} attempts)") from exc
    except httpx.HTTPError as exc:  # anything httpx raises that is not handled above
        raise SourceUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
    raise SourceChanged(f"{url}: more than {MAX_REDIRECTS} redirects")
