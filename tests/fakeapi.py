"""A local stand-in for the ClinicalTrials.gov API v2, served over a real loopback socket.

    with FakeCTGov(generate_studies(500)) as api:
        client = Client(api.url)                       # http://127.0.0.1:PORT/api/v2
        api.add_fault("status", times=2, status=503, headers={"Retry-After": "1"})
        ...
        assert [r.status for r in api.requests] == [503, 503, 200]

It follows REFERENCE.md s2-5: ``/studies`` (search, filters, fields, sort, paging with
tokens), ``/studies/{nctId}`` (400/404/301) and ``/version``; text/plain error bodies
with the real messages; gzip; one study per line. Searching is an approximation of
Essie (see :mod:`tests.fake_essie`). Page tokens are bound to the query's parameters,
which is stricter than the real API on purpose. Faults are programmable
(:meth:`FakeCTGov.add_fault`). Records are treated as read-only: after changing them,
hand them over again with :meth:`FakeCTGov.set_studies` (which also drops the caches).

Run ``python -m tests.fakeapi --help`` to serve by hand.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import http
import itertools
import json
import re
import socket
import sys
import threading
import traceback
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from .fake_essie import (
    AREAS,
    BASIC,
    PIECES,
    STATUS,
    EssieError,
    Piece,
    Pred,
    StudyView,
    age_days,
    compile_query,
    date_key,
    near,
    parse_distance,
    referenced_pieces,
    resolve_piece,
)

__all__ = ["FAULT_KINDS", "PIECES", "FakeCTGov", "Fault", "LoggedRequest", "main"]

PREFIX = "/api/v2"
API_VERSION = "2.0.5"
DATA_TIMESTAMP = "2026-08-19T09:00:06"
MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE = 1000, 10
TEXT = "text/plain; charset=UTF-8"
NGINX_404 = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
MAINTENANCE = (
    "<!DOCTYPE html><html lang=\"en\"><head><title>ClinicalTrials.gov</title></head><body>"
    "<h1>ClinicalTrials.gov is undergoing maintenance</h1><p>Please try again later.</p>"
    "</body></html>"
)
CHALLENGE = (  # what a CDN's bot check answers instead of the API
    "<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title></head><body>"
    "<h1>Checking if the site connection is secure</h1><noscript>Enable JavaScript and cookies "
    "to continue</noscript></body></html>"
)
SECTIONS: dict[str, tuple[str, ...]] = {
    "protocolSection": (
        "identificationModule", "statusModule", "sponsorCollaboratorsModule", "oversightModule",
        "descriptionModule", "conditionsModule", "designModule", "armsInterventionsModule",
        "outcomesModule", "eligibilityModule", "contactsLocationsModule", "referencesModule",
        "ipdSharingStatementModule",
    ),
    "resultsSection": (
        "participantFlowModule", "baselineCharacteristicsModule", "outcomeMeasuresModule",
        "adverseEventsModule", "moreInfoModule",
    ),
    "annotationSection": ("annotationModule",),
    "documentSection": ("largeDocumentModule",),
    "derivedSection": ("miscInfoModule", "conditionBrowseModule", "interventionBrowseModule"),
    "hasResults": (),
}
_FILTERS = ("overallStatus", "geo", "ids", "advanced")
STUDIES_PARAMS = frozenset(
    {"format", "markupFormat", "fields", "sort", "countTotal", "pageSize", "pageToken", "geoDecay"}
    | set(AREAS)
    | {f"{prefix}.{name}" for prefix in ("filter", "postFilter") for name in _FILTERS}
)
STUDY_PARAMS = frozenset({"format", "markupFormat", "fields"})
UNBOUND = ("pageToken", "pageSize", "countTotal")  # what a page token is not bound to
_BROWSER = re.compile(r"Mozilla/5\.0 \(")  # how every browser's User-Agent begins
_NCT = re.compile(r"^[Nn][Cc][Tt]0*([1-9]\d{0,7})$")
_NCT_ONLY = re.compile(r"^[\s,]*(?:[Nn][Cc][Tt]\d{8}[\s,]*)+$")
_GEO = re.compile(r"^distance\((-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?),(\d+(?:\.\d+)?(?:km|mi)?)\)$")
_FIELD = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9\-. ]*|@query)$")
_SORT = re.compile(r"^(@relevance|[A-Za-z][A-Za-z0-9.]*)(?::(asc|desc))?$")
_SORT_KINDS = {"date": "desc", "number": "asc", "age": "asc"}


class ApiError(Exception):
    """An error answer: status and a text/plain message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def _items(value: str) -> list[str]:
    """A comma- or pipe-separated list parameter."""
    return [item.strip() for item in re.split(r"[,|]", value) if item.strip()]


def normalise_nct(text: str) -> str | None:
    """``'nct4458051'`` -> ``'NCT04458051'``; None if it is not an NCT number."""
    match = _NCT.match(text.strip())
    return "NCT" + match.group(1).zfill(8) if match else None


# -- fields projection -------------------------------------------------------------------

Tree = dict[str, Any]  # path component -> subtree, or True for "keep everything below"


def _tree_add(tree: Tree, path: Iterable[str]) -> None:
    parts = list(path)
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if child is True:
            return
        node = child
    node[parts[-1]] = True


def _field_path(item: str) -> tuple[str, ...] | None:
    """A path such as ``protocolSection.contactsLocationsModule``, canonically spelt; or None."""
    parts = item.split(".")
    section = next((s for s in SECTIONS if s.lower() == parts[0].lower()), None)
    if section is None or (section == "hasResults" and len(parts) > 1):
        return None
    if len(parts) == 1:
        return (section,)
    module = next((m for m in SECTIONS[section] if m.lower() == parts[1].lower()), None)
    return None if module is None or not all(parts[2:]) else (section, module, *parts[2:])


def compile_fields(value: str, queried: list[Piece]) -> Tree:
    """The projection tree for a ``fields`` parameter; 400 on an unknown name."""
    tree: Tree = {}
    for item in _items(value) or [""]:
        piece = resolve_piece(item) if _FIELD.match(item) else None
        area = next((a for a in AREAS.values() if a.name.lower() == item.lower()), None)
        paths: list[tuple[str, ...]]
        if item == "@query":
            paths = [p.project_path for p in [PIECES["NCTId"], *queried]]
        elif piece is not None:
            paths = [piece.project_path]
        elif area is not None:
            paths = [p.project_path for p in area.pieces]
        else:
            path = _field_path(item) if _FIELD.match(item) else None
            if path is None:
                raise _bad(f"Parameter 'fields' contains invalid field name: '{item}'")
            paths = [path]
        for path in paths:
            _tree_add(tree, path)
    return tree


def project(node: Any, tree: Tree | bool) -> Any:
    """Keep only the requested leaves; empty parents and list elements are dropped (None)."""
    if not isinstance(tree, dict):
        return node
    if isinstance(node, list):
        kept = [x for x in (project(item, tree) for item in node) if x is not None]
        return kept or None
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():  # the record's key order, not the request's
            sub = tree.get(key)
            if sub is True:
                if value or (value is not None and not isinstance(value, (list, dict))):
                    out[key] = value
            elif sub is not None:
                kept = project(value, sub)
                if kept is not None:
                    out[key] = kept
        return out or None
    return None


# -- query plans -------------------------------------------------------------------------


@dataclass
class Plan:
    """A compiled ``/studies`` query: filters, sort keys and projection."""

    preds: list[Pred]
    sort: list[tuple[Piece, bool]]  # (piece, descending)
    fields: Tree | None


def _essie(text: str, label: str, default: Any) -> Pred:
    try:
        return compile_query(text, default)
    except EssieError as exc:
        raise _bad(f"Error parsing query in {label}: {exc}") from None


def _status_pred(value: str) -> Pred:
    wanted = set()
    for item in _items(value):
        if item.upper() not in STATUS:
            raise _bad(f"Invalid value in parameter `overallStatus`: `{item}`")
        wanted.add(item.upper())
    piece = PIECES["OverallStatus"]
    return lambda v: any(s in wanted for s in v.values(piece))


def _ids_pred(name: str, value: str) -> Pred:
    wanted = set()
    for n, item in enumerate(_items(value), 1):
        nct = normalise_nct(item)
        if nct is None:
            raise _bad(f"Item {n} in parameter `{name}` has incorrect format")
        wanted.add(nct)
    ids, aliases = PIECES["NCTId"], PIECES["NCTIdAlias"]

    def pred(v: StudyView) -> bool:
        return any(normalise_nct(str(x)) in wanted for x in (*v.values(ids), *v.values(aliases)))

    return pred


def _geo_pred(name: str, value: str) -> Pred:
    match = _GEO.match(value)
    parsed = parse_distance(f"{match[1]},{match[2]},{match[3]}") if match else None
    if parsed is None:
        raise _bad(f"Parameter `{name}` has incorrect format")
    lat, lon, miles = parsed
    piece = PIECES["LocationGeoPoint"]
    return lambda v: near(v.values(piece), lat, lon, miles)


def _sort_specs(value: str) -> list[tuple[Piece, bool]]:
    items = _items(value)
    if len(items) > 2:
        raise _bad("Parameter `sort` can have at most 2 items")
    specs = []
    for n, item in enumerate(items, 1):
        match = _SORT.match(item)
        if not match:
            raise _bad(f"Item {n} in parameter `sort` has incorrect format")
        if match[1] == "@relevance":
            continue  # no scores here: keep data order
        name = match[1]
        piece = resolve_piece(name) or next(
            (p for p in PIECES.values() if name in (p.dotted, ".".join(p.project_path))), None
        )
        if piece is None:
            raise _bad(f"Item {n} in parameter `sort` has incorrect format")
        if piece.kind not in _SORT_KINDS:
            kind = "text" if piece.kind in ("text", "struct") else piece.kind
            raise _bad(f"Unsupported sort field type: {kind}")
        specs.append((piece, (match[2] or _SORT_KINDS[piece.kind]) == "desc"))
    return specs


def compile_plan(params: dict[str, str]) -> Plan:
    """Validate the query parameters of ``/studies`` and compile them; ApiError on bad input."""
    queries: list[Pred] = []
    queried: list[Piece] = []
    nct_only = False
    for name, area in AREAS.items():
        text = params.get(name, "")
        if text.strip():
            queries.append(_essie(text, area.label, area))
            queried += [*area.pieces, *referenced_pieces(text)]
            nct_only = nct_only or bool(_NCT_ONLY.match(text))
    cheap: list[Pred] = []  # evaluated first
    costly: list[Pred] = []
    for prefix in ("filter", "postFilter"):  # a blank filter is no filter
        value = {name: params.get(f"{prefix}.{name}", "").strip() for name in _FILTERS}
        if value["ids"]:
            cheap.append(_ids_pred(f"{prefix}.ids", value["ids"]))
        if value["overallStatus"]:
            cheap.append(_status_pred(value["overallStatus"]))
        if value["advanced"]:
            costly.append(_essie(value["advanced"], "advanced filter", BASIC))
        if value["geo"]:
            costly.append(_geo_pred(f"{prefix}.geo", value["geo"]))
    sort = _sort_specs(params["sort"]) if "sort" in params else []
    fields = compile_fields(params["fields"], queried) if "fields" in params else None
    # "If any query parameter contains only NCT IDs, filters are ignored." (REFERENCE.md s3)
    preds = queries if nct_only else cheap + queries + costly
    return Plan(preds, sort, fields)


def _sort_value(view: StudyView, piece: Piece) -> Any:
    """The first readable value of a date, age or number piece, or None."""
    for raw in view.values(piece):
        text = str(raw)
        value: Any
        if piece.kind == "date":
            value = date_key(text)
        elif piece.kind == "age":
            value = age_days(text)
        else:
            value = _float(text)
        if value is not None:
            return value
    return None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def run_plan(plan: Plan, views: list[StudyView]) -> list[int]:
    """Indexes of the matching studies, sorted; studies missing a sort value come last."""
    preds = plan.preds
    matches = [i for i, view in enumerate(views) if all(p(view) for p in preds)]
    for piece, descending in reversed(plan.sort):
        keyed = [(i, _sort_value(views[i], piece)) for i in matches]
        present = [pair for pair in keyed if pair[1] is not None]
        present.sort(key=lambda pair: pair[1], reverse=descending)
        matches = [i for i, _ in present] + [i for i, value in keyed if value is None]
    return matches


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# -- faults ------------------------------------------------------------------------------

FAULT_KINDS: dict[str, frozenset[str]] = {  # kind -> its options
    "status": frozenset({"status", "body", "headers", "content_type"}),
    "close": frozenset(),
    "stall": frozenset({"seconds"}),
    "html200": frozenset({"body"}),
    "challenge": frozenset({"status", "body"}),
    "truncate": frozenset(),
    "phantom_token": frozenset(),
    "empty_pages": frozenset(),
    "moved": frozenset({"count"}),
}
# ``moved`` (count=1) is the data changing mid-walk: ``count`` studies the walk already
# passed vanished (or moved to an earlier page), so a later page (one with a pageToken)
# starts that many studies further on and the walk comes up short of its totalCount.
# Like phantom_token and empty_pages it is conditional: taken only on such a page.
_CONDITIONAL = ("phantom_token", "empty_pages", "moved")  # apply only to some pages of a walk


@dataclass
class Fault:
    """A queued misbehaviour. ``times=None`` repeats until cleared."""

    kind: str
    times: int | None = 1
    path: str | None = None
    after: int = 0
    opts: dict[str, Any] = field(default_factory=dict)
    seen: int = 0  # requests on ``path`` since it was queued
    hits: int = 0  # times applied

    @property
    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw and answered it (status 0: closed without answer)."""

    path: str
    params: dict[str, str]
    status: int
    bytes_sent: int
    fault: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


# -- data --------------------------------------------------------------------------------


_GENERATION = itertools.count()


class _Data:
    """An immutable snapshot of the corpus with its indexes and a per-query cache."""

    def __init__(self, studies: list[dict[str, Any]], timestamp: str, cache_size: int = 32) -> None:
        self.studies = studies
        self.views = [StudyView(s) for s in studies]
        self.timestamp = timestamp
        self.by_id: dict[str, int] = {}
        self.aliases: dict[str, str] = {}
        for i, view in enumerate(self.views):
            for nct in view.values(PIECES["NCTId"]):
                self.by_id.setdefault(normalise_nct(str(nct)) or str(nct), i)
        for view in self.views:
            canonical = next(iter(view.values(PIECES["NCTId"])), None)
            for alias in view.values(PIECES["NCTIdAlias"]):
                key = normalise_nct(str(alias))
                if canonical and key and key not in self.by_id:
                    self.aliases[key] = str(canonical)
        # Dataset-scoped, like the real one; a new snapshot always gets a new tag.
        digest = hashlib.sha1(f"{timestamp}/{next(_GENERATION)}".encode()).hexdigest()[:8]
        self.etag = f'"fake/{API_VERSION}/{digest}"'
        self._cache: OrderedDict[str, tuple[Plan, list[int]]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def query(self, key: str, params: dict[str, str]) -> tuple[Plan, list[int]]:
        """The plan and full match list for a query, computed once per distinct query."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        plan = compile_plan(params)
        result = (plan, run_plan(plan, self.views))
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result


def _query_key(params: dict[str, str]) -> str:
    bound = sorted((k, v) for k, v in params.items() if k not in UNBOUND)
    return hashlib.sha256(_dumps(bound).encode()).hexdigest()


def make_token(key: str, offset: int, nonce: int = 0) -> str:
    """An opaque, URL-safe page token bound to a query key."""
    raw = b"\x01" + bytes.fromhex(key[:16]) + offset.to_bytes(4, "big")
    raw += (nonce & 0xFFFF).to_bytes(2, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def read_token(token: str, key: str, limit: int) -> int:
    """The offset in a token made for ``key``; 400 for garbage or another query's token."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except ValueError:
        raw = b""
    offset = int.from_bytes(raw[9:13], "big") if len(raw) == 15 else -1
    if raw[:1] != b"\x01" or raw[1:9] != bytes.fromhex(key[:16]) or not 0 <= offset <= limit:
        raise _bad("Parameter `pageToken` has incorrect format")
    return offset


# -- server ------------------------------------------------------------------------------


class FakeCTGov:
    """The fake API server. ``start()``/``stop()`` or use it as a context manager."""

    def __init__(
        self,
        studies: list[dict[str, Any]],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data_timestamp: str = DATA_TIMESTAMP,
        gzip_level: int = 6,
        stall_cap: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.gzip_level, self.stall_cap = gzip_level, stall_cap
        self._data = _Data(list(studies), data_timestamp)
        self._log: list[LoggedRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._nonce = 0

    # lifecycle

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server((self.host, self.port), _Handler)
        httpd.app = self
        self._httpd, self.port = httpd, httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"fakeapi:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: ends stalls, drops open keep-alive connections, frees the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:40123/api/v2``."""
        if self._httpd is None:
            raise RuntimeError("the server is not running: call start() first")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}{PREFIX}"

    # data

    @property
    def studies(self) -> list[dict[str, Any]]:
        return self._data.studies

    def set_studies(self, studies: list[dict[str, Any]], data_timestamp: str | None = None) -> None:
        """Replace the corpus (and optionally ``/version``'s dataTimestamp); caches are dropped."""
        self._data = _Data(list(studies), data_timestamp or self._data.timestamp)

    # request log

    @property
    def requests(self) -> list[LoggedRequest]:
        """A snapshot of the requests answered so far, oldest first."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append(entry)

    # faults

    def add_fault(
        self,
        kind: str,
        times: int | None = 1,
        *,
        path: str | None = None,
        after: int = 0,
        **opts: Any,
    ) -> Fault:
        """Queue a fault for the next requests whose path starts with ``path`` (default: all).

        The first ``after`` such requests pass untouched. Kinds and options: ``status``
        (status=503, body, headers, content_type), ``close``, ``stall`` (seconds=5),
        ``html200`` (body), ``challenge`` (status=403, body: an HTML bot check for every
        User-Agent that is not a browser's; a browser is served and does not use it up),
        ``truncate``, ``phantom_token``, ``empty_pages``. A request
        takes at most one fault: the oldest armed unconditional one, else the oldest
        armed ``phantom_token``/``empty_pages`` one, which only apply on the last page.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        unknown = set(opts) - FAULT_KINDS[kind]
        if unknown:
            raise ValueError(f"fault {kind!r} takes no option(s) {', '.join(sorted(unknown))}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for always)")
        fault = Fault(kind, times, path, after, dict(opts))
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def _arm(self, path: str) -> list[Fault]:
        """Count this request against each fault on its path; the faults that may now apply."""
        with self._lock:
            armed = []
            for fault in self._faults:
                if fault.path is None or path.startswith(fault.path):
                    fault.seen += 1
                    if fault.seen > fault.after and not fault.spent:
                        armed.append(fault)
            return armed

    def _take(self, armed: list[Fault], kinds: Iterable[str]) -> Fault | None:
        """Consume the oldest armed fault of one of ``kinds``."""
        kinds = set(kinds)
        with self._lock:
            for fault in armed:
                if fault.kind in kinds and not fault.spent and fault in self._faults:
                    fault.hits += 1
                    if fault.spent:
                        self._faults.remove(fault)
                    return fault
        return None

    def _next_nonce(self) -> int:
        with self._lock:
            self._nonce += 1
            return self._nonce


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    app: FakeCTGov


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-ctgov"
    timeout = 60  # idle keep-alive connections are dropped after this
    server: _Server
    # the request being answered
    _path: str
    _params: dict[str, str]
    _fault: str | None

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without NODELAY, Nagle's algorithm and
        # delayed ACKs would add ~40 ms to every small answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.app._lock:
            self.server.app._conns.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.app._lock:
                self.server.app._conns.discard(self.connection)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def do_GET(self) -> None:
        app = self.server.app
        split = urlsplit(self.path)
        path, query = split.path, split.query
        params = dict(parse_qsl(query, keep_blank_values=True))
        self._path, self._params, self._fault = path, params, None
        armed = app._arm(path)
        kinds = [k for k in FAULT_KINDS if k not in _CONDITIONAL]
        if _BROWSER.match(self.headers.get("User-Agent", "")):
            kinds.remove("challenge")  # a browser passes the bot check
        fault = app._take(armed, kinds)
        if fault is not None:
            self._fault = fault.kind
            if fault.kind == "close":
                self.close_connection = True
                app._record(LoggedRequest(path, params, 0, 0, "close", dict(self.headers)))
                return
            if fault.kind == "status":
                status = int(fault.opts.get("status", 503))
                body = fault.opts.get("body", http.HTTPStatus(status).phrase)
                body = body if isinstance(body, bytes) else str(body).encode()
                ctype = fault.opts.get("content_type", TEXT)
                self._send(status, body, ctype, fault.opts.get("headers"))
                return
            if fault.kind == "challenge":
                body = str(fault.opts.get("body", CHALLENGE)).encode()
                self._send(int(fault.opts.get("status", 403)), body, "text/html; charset=UTF-8")
                return
            if fault.kind == "html200":
                body = fault.opts.get("body", MAINTENANCE).encode()
                self._send(200, body, "text/html; charset=utf-8")
                return
            if fault.kind == "stall":
                app._stopping.wait(min(float(fault.opts.get("seconds", 5.0)), app.stall_cap))
        truncate = fault is not None and fault.kind == "truncate"
        try:
            self._route(app, path, query, params, armed, truncate)
        except ApiError as exc:
            self._send(exc.status, exc.message.encode(), TEXT)
        except Exception as exc:  # a bug in the fake: say so loudly
            traceback.print_exc(file=sys.stderr)
            self._send(500, f"fakeapi internal error: {exc!r}".encode(), TEXT)

    def _route(
        self, app: FakeCTGov, path: str, query: str, params: dict[str, str], armed: list[Fault],
        truncate: bool,
    ) -> None:
        data = app._data
        if path == f"{PREFIX}/version":
            body = _dumps({"apiVersion": API_VERSION, "dataTimestamp": data.timestamp})
            return self._json(data, body, truncate)
        if path == f"{PREFIX}/studies":
            return self._json(data, self._studies(app, data, params, armed), truncate)
        rest = path[len(PREFIX) + 9:] if path.startswith(f"{PREFIX}/studies/") else ""
        if rest and "/" not in rest:
            return self._study(data, rest, query, params, truncate)
        self._send(404, NGINX_404.encode(), "text/html")

    def _check_params(self, params: dict[str, str], allowed: frozenset[str]) -> None:
        for name in params:
            if name not in allowed:
                raise _bad(f"`{name}` is unknown parameter")
        fmt = params.get("format", "json")
        if fmt != "json":
            raise _bad(f"Invalid value in parameter `format`: `{fmt}`")
        markup = params.get("markupFormat", "markdown")
        if markup not in ("markdown", "legacy"):
            raise _bad(f"Invalid value in parameter `markupFormat`: `{markup}`")

    def _studies(
        self, app: FakeCTGov, data: _Data, params: dict[str, str], armed: list[Fault]
    ) -> str:
        self._check_params(params, STUDIES_PARAMS)
        size_text = params.get("pageSize", "").strip()
        if size_text and not size_text.isdigit():
            raise _bad("Parameter `pageSize` has incorrect format")
        size = min(int(size_text or 0) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        count_total = params.get("countTotal", "false").lower()
        if count_total not in ("true", "false"):
            raise _bad("Parameter `countTotal` has incorrect format")
        key = _query_key(params)
        plan, matches = data.query(key, params)
        token = params.get("pageToken")
        offset = read_token(token, key, len(matches)) if token else 0
        if token:  # a later page: where moved strikes
            fault = app._take(armed, ("moved",))
            if fault is not None:
                self._fault = fault.kind
                offset = min(offset + int(fault.opts.get("count", 1)), len(matches))
        end = min(offset + size, len(matches))
        page = matches[offset:end]
        next_token = make_token(key, end) if end < len(matches) else None
        if next_token is None:  # the last page: where phantom_token and empty_pages strike
            fault = app._take(armed, ("phantom_token", "empty_pages"))
            if fault is not None:
                self._fault = fault.kind
                if fault.kind == "empty_pages":
                    page, next_token = [], make_token(key, offset, app._next_nonce())
                else:
                    next_token = make_token(key, len(matches), app._next_nonce())
        head = f'"totalCount":{len(matches)},' if count_total == "true" and not token else ""
        rows = [data.studies[i] for i in page]
        if plan.fields is not None:
            rows = [project(row, plan.fields) or {} for row in rows]
        tail = f',"nextPageToken":"{next_token}"' if next_token else ""
        lines = ",\n".join(_dumps(row) for row in rows)
        return "{" + head + '"studies":[\n' + lines + "\n]" + tail + "}"

    def _study(
        self, data: _Data, raw_id: str, query: str, params: dict[str, str], truncate: bool
    ) -> None:
        self._check_params(params, STUDY_PARAMS)
        nct = normalise_nct(raw_id)
        if nct is None:
            raise _bad("Parameter `nctId` has incorrect format")
        fields = compile_fields(params["fields"], []) if "fields" in params else None
        if nct not in data.by_id:
            canonical = data.aliases.get(nct)
            if canonical is None:
                raise ApiError(404, f"NCT number {nct} not found")
            host = self.headers.get("Host") or f"{self.server.app.host}:{self.server.app.port}"
            location = f"http://{host}{PREFIX}/studies/{canonical}" + (f"?{query}" if query else "")
            return self._send(301, b"", TEXT, {"Location": location})
        record = data.studies[data.by_id[nct]]
        if fields is not None:
            record = project(record, fields) or {}
        self._json(data, _dumps(record), truncate)

    # -- writing ---------------------------------------------------------------------

    def _json(self, data: _Data, body: str, truncate: bool) -> None:
        if self.headers.get("If-None-Match") == data.etag and not truncate:
            return self._send(304, b"", None, {"ETag": data.etag})
        raw = body.encode("utf-8")
        if truncate:
            raw = raw[: len(raw) // 2]
        self._send(200, raw, "application/json", {"ETag": data.etag})

    def _send(
        self, status: int, body: bytes, content_type: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Log, then write the answer (gzipped if the client accepts it) in full."""
        if body and _accepts_gzip(self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, compresslevel=self.server.app.gzip_level, mtime=0)
            headers = {**(headers or {}), "Content-Encoding": "gzip"}
        entry = LoggedRequest(
            self._path, self._params, status, len(body), self._fault, dict(self.headers)
        )
        self.server.app._record(entry)
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Vary", "Accept-Encoding")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True


def _accepts_gzip(header: str) -> bool:
    for part in header.lower().split(","):
        name, _, q = part.partition(";")
        if name.strip() == "gzip":
            return q.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


# -- command line ------------------------------------------------------------------------


def parse_fault(spec: str) -> tuple[str, int | None, dict[str, Any]]:
    """``'status:503:2'`` -> ('status', 2, {'status': 503}); ``'stall:3'``, ``'close:*'``."""
    parts = spec.split(":")
    kind, rest = parts[0], parts[1:]
    if kind not in FAULT_KINDS:
        raise argparse.ArgumentTypeError(f"unknown fault kind {kind!r}")
    opts: dict[str, Any] = {}
    if kind in ("status", "stall", "challenge") and rest:
        arg = rest.pop(0)
        opts = {"seconds": float(arg)} if kind == "stall" else {"status": int(arg)}
    if len(rest) > 1:
        raise argparse.ArgumentTypeError(f"bad fault {spec!r}: expected kind[:arg][:times]")
    times = None if rest and rest[0] == "*" else int(rest[0]) if rest else 1
    return kind, times, opts


def load_studies(path: str | Path) -> list[dict[str, Any]]:
    """A JSON list of study records, or ``{"studies": [...]}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    studies = data.get("studies") if isinstance(data, dict) else data
    if not isinstance(studies, list):
        raise ValueError(f"{path}: expected a JSON list of studies or {{\"studies\": [...]}}")
    return studies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakeapi", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", help="JSON list of study records (or {\"studies\": [...]})")
    source.add_argument("--generate", type=int, metavar="N", help="serve N synthetic studies")
    parser.add_argument("--seed", type=int, default=0, help="seed for --generate")
    parser.add_argument(
        "--fault", action="append", default=[], type=parse_fault, metavar="KIND[:ARG][:TIMES]",
        help="queue a fault, e.g. status:503:2, stall:5, close:*, challenge:403:* (repeatable)",
    )
    parser.add_argument("--timestamp", default=DATA_TIMESTAMP, help="dataTimestamp for /version")
    args = parser.parse_args(argv)
    if args.data:
        studies = load_studies(args.data)
    elif args.generate is not None:
        from .datagen import generate_studies

        studies = generate_studies(args.generate, args.seed)
    else:
        studies = []
    server = FakeCTGov(studies, args.host, args.port, data_timestamp=args.timestamp)
    for kind, times, opts in args.fault:
        server.add_fault(kind, times, **opts)
    server.start()
    print(server.url, flush=True)
    print(f"serving {len(studies)} studies; Ctrl-C to stop", file=sys.stderr, flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
