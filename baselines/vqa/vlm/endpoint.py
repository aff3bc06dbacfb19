"""``--endpoint URL`` taken apart: what the client connects to, and what must never be written.

User info (``https://user:secret@host/v1``) becomes HTTP basic authentication and the query
string (``?api-key=K``) the client's default query (sent with every request, not glued into the
path); neither stays in the base URL. :attr:`Endpoint.redacted` is the form that files, messages
and the response store's key may hold: the host, port and path that tell endpoints apart, every
secret replaced by ``***``. :func:`redact` scrubs the secrets out of any text (a server's error
message, an exception) before it is shown.

>>> e = parse_endpoint("https://alice:s3cret@api.example.org:8443/v1/?api-key=K9x2&v=2")
>>> e.base_url, e.query, e.auth
('https://api.example.org:8443/v1/', {'api-key': 'K9x2', 'v': '2'}, ('alice', 's3cret'))
>>> e.redacted
'https://***@api.example.org:8443/v1/?api-key=***&v=***'
>>> redact("refused https://alice:s3cret@api.example.org key=K9x2", e.secrets)
'refused https://***:***@api.example.org key=***'
>>> import copy
>>> given = EndpointUrl("https://alice:s3cret@api.example.org/v1")
>>> str(given), copy.deepcopy(given), given.reveal()
('https://***@api.example.org/v1', 'https://***@api.example.org/v1', 'https://alice:s3cret@api.example.org/v1')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

MASK = "***"
MIN_SECRET = 4  # shorter values are masked in the redacted URL but not searched in free text
SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Endpoint:
    """A base URL without credentials, its query parameters, basic-auth credentials, and the
    redacted form."""

    base_url: str
    redacted: str
    origin: tuple[str, str, int]  # (scheme, host, port): where requests may go
    query: dict[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every string that must not be written: credentials and query values (also
        percent-decoded), longest first so that :func:`redact` masks whole values."""
        found = {v for v in self.query.values() if v}
        if self.auth:
            found |= {v for v in self.auth if v}
        return tuple(sorted(found, key=len, reverse=True))


class EndpointUrl:
    """The ``--endpoint`` URL as given, which may hold secrets: it prints, compares and copies
    (``copy.deepcopy``, which ``dataclasses.asdict`` uses to record options in metrics.json) as
    its redacted form; :meth:`reveal` gives the URL itself, for the client only."""

    __slots__ = ("_url", "redacted")

    def __init__(self, url: str) -> None:
        self._url = url.reveal() if isinstance(url, EndpointUrl) else str(url)
        self.redacted = parse_endpoint(self._url).redacted

    def reveal(self) -> str:
        return self._url

    def __str__(self) -> str:
        return self.redacted

    __repr__ = __str__

    def __deepcopy__(self, memo: dict) -> str:
        return self.redacted

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EndpointUrl) and other._url == self._url

    def __hash__(self) -> int:
        return hash(self._url)


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def parse_endpoint(url: str) -> Endpoint:
    """Split ``url`` (see the module doc); ``ValueError`` (naming no part of the URL, which may
    hold a secret) when it is not an http(s) URL with a host."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise ValueError("the endpoint must be an http:// or https:// URL with a host, e.g. "
                         "http://127.0.0.1:8000/v1")
    try:
        port = parts.port or default_port(scheme)
    except ValueError:
        raise ValueError("the endpoint's port is not a number from 0 to 65535") from None
    host = parts.hostname
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host + (f":{parts.port}" if parts.port else "")
    query = {name: value for name, value in parse_qsl(parts.query, keep_blank_values=True)}
    auth = None
    if parts.username is not None or parts.password is not None:
        auth = (unquote(parts.username or ""), unquote(parts.password or ""))
    redacted_query = "&".join(f"{name}={MASK}" for name in query)
    redacted = urlunsplit((scheme, (f"{MASK}@" if auth else "") + netloc, parts.path,
                           redacted_query, ""))
    return Endpoint(urlunsplit((scheme, netloc, parts.path, "", "")), redacted,
                    (scheme, host.lower(), port), query, auth)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and its percent-encoded form) replaced by ``***``."""
    from urllib.parse import quote

    for secret in secrets:
        if len(secret) >= MIN_SECRET:
            for form in dict.fromkeys((secret, quote(secret, safe=""), quote(secret))):
                text = text.replace(form, MASK)
    return text
