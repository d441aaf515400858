"""trialfinder benchmarks against the local ClinicalTrials.gov stand-in, side by side.

    python benchmarks/run.py            # N = 100, 1,000 and 10,000 (a few minutes)
    python benchmarks/run.py --quick    # N = 100 and 1,000 only

Run it from the repository root with the Python of a virtual environment in which
trialfinder is installed (``pip install -e .``); the ``trialfinder`` script next to that
Python is the one measured. BioMCP (``biomcp-cli`` on PyPI, a benchmark-only peer) is
used if ``--biomcp PATH`` is given or ``biomcp`` is found on PATH or in
/tmp/biomcp-venv/bin; otherwise its rows say "not measured" and why.

The question everywhere is the README's: recruiting multiple-sclerosis trials within
100 miles of Boston, ``trialfinder search --near "Boston, MA" --format json``. For each N
a data set is generated with :mod:`tests.datagen` so that exactly N studies match it
(see :func:`build_dataset`), served by :class:`tests.fakeapi.FakeCTGov` in a thread of
this process on loopback. Every program measured runs as the child of a small fresh
wrapper process, which reports that child's own wall time, CPU time (user + sys) and
peak RSS (``os.wait4``).

Prints markdown tables; see benchmarks/README.md for the method and recorded figures.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NEAR = "Boston, MA"
RADIUS_MI = 100.0
SEARCH_ARGS = ["search", "--near", NEAR, "--format", "json"]
DEFAULT_SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)
PAGE = 1000  # the API's largest page: the floor is ceil(N / 1000) requests

# What each key of trialfinder's search JSON (README "JSON is a list of trials, ...")
# is read from, as API v2 field pieces. Derived keys (url, sites_in_radius, distances)
# need nothing beyond these; matched_drugs reads intervention names and other names
# only when the query has a drug class or interventions (this question has neither).
OUTPUT_PIECES = {
    "nct_id": ["NCTId"], "title": ["BriefTitle"], "official_title": ["OfficialTitle"],
    "acronym": ["Acronym"], "status": ["OverallStatus"], "phases": ["Phase"],
    "study_type": ["StudyType"], "conditions": ["Condition"],
    "interventions": ["InterventionName"], "sponsor": ["LeadSponsorName"],
    "min_age": ["MinimumAge"], "max_age": ["MaximumAge"], "sex": ["Sex"],
    "first_posted": ["StudyFirstPostDate"], "last_updated": ["LastUpdatePostDate"],
    "matched_drugs": ["InterventionName", "InterventionOtherName"],
    "which trials are on condition (conditions.py)": [
        "Condition", "Keyword", "ConditionMeshTerm", "ConditionAncestorTerm",
    ],
    "nearest_site / sites_in_radius": [
        "LocationFacility", "LocationCity", "LocationState", "LocationZip", "LocationCountry",
        "LocationStatus", "LocationGeoPoint",
    ],
}


# -- child processes ------------------------------------------------------------------


@dataclass
class Run:
    """One child process: wall seconds, CPU seconds (user + sys), peak RSS in MB, exit code."""

    wall: float
    cpu: float
    rss_mb: float
    code: int
    stderr: str = ""


def child_env(**extra: str) -> dict[str, str]:
    """The environment without proxies (everything here is loopback), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(extra)
    return env


# A small fresh process that starts the measured one and reports its rusage alone. Not
# run_child's own wait4: on Linux a child's ru_maxrss starts at the RSS of the process it
# was forked (or vforked) from, and this process holds the whole corpus and the stand-in.
# The wrapper (python -S, ~8 MB) is far smaller than anything it measures.
_WRAPPER = """
import os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawn(cmd[0], cmd, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(out, "w") as f:
    f.write(repr((wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status))))
"""


def run_child(cmd: Sequence[str], env: dict[str, str], stdout: str | None = None) -> Run:
    """Run ``cmd`` (first item an absolute path) under the wrapper: wall, CPU, peak RSS, exit."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(stdout or os.devnull, "wb"))
        err = stack.enter_context(tempfile.TemporaryFile())
        report = stack.enter_context(tempfile.NamedTemporaryFile("r", suffix=".rusage"))
        wrapper = [sys.executable, "-S", "-c", _WRAPPER, report.name, *cmd]
        code = subprocess.run(wrapper, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env).returncode
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        got = report.read()
    if code != 0 or not got:
        return Run(math.nan, math.nan, math.nan, code or 1, text)
    wall, cpu, maxrss_kb, status = ast.literal_eval(got)
    return Run(wall, cpu, maxrss_kb / 1024, status, text)


def checked(run: Run, what: str) -> Run:
    if run.code != 0:
        raise SystemExit(f"{what} failed with exit status {run.code}:\n{run.stderr[-2000:]}")
    return run


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


# -- data --------------------------------------------------------------------------------


def haversine_mi(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 3958.8 * math.asin(min(1.0, math.sqrt(a)))


def _is_ms(study: dict[str, Any]) -> bool:
    conds = study["protocolSection"].get("conditionsModule", {}).get("conditions", [])
    return any("multiple sclerosis" in c.lower() for c in conds)


def _site_distance(loc: dict[str, Any], lat: float, lon: float) -> float:
    geo = loc.get("geoPoint")
    return haversine_mi(lat, lon, geo["lat"], geo["lon"]) if geo else math.inf


def _move_to_boston(loc: dict[str, Any], status: str, lat: float, lon: float, rng: random.Random) -> None:
    """Make ``loc`` a site in Boston (coordinates jittered as datagen does) with ``status``."""
    old_city = loc.get("city", "")
    if old_city:
        loc["facility"] = loc.get("facility", "Research Site").replace(old_city, "Boston")
    loc.update(
        status=status, city="Boston", state="Massachusetts", country="United States",
        zip=f"021{rng.randint(0, 99):02d}",
        geoPoint={"lat": round(lat + rng.gauss(0, 0.08), 5),
                  "lon": round(lon + rng.gauss(0, 0.08) / math.cos(math.radians(lat)), 5)},
    )


def build_dataset(
    n: int, seed: int, lat: float, lon: float, traps: int = 0
) -> tuple[list[dict[str, Any]], set[str]]:
    """``generate_studies`` records of which exactly ``n`` answer the question.

    Targets are the first ``n`` generated studies that are multiple-sclerosis trials
    with overall status RECRUITING (about 3 in 5). Each is made to have a recruiting
    site within the radius: if a site near Boston exists but is withdrawn, completed or
    not yet recruiting, the nearest one becomes RECRUITING; if none is near Boston,
    one of its recruiting sites (else its first site) is moved to Boston. Decoys, up to
    n/2, are generated studies the API filters out (not MS, or not recruiting), kept as
    generated. Surplus MS-recruiting studies are dropped, so with ``traps=0`` the API's
    total is exactly ``n`` and every study it returns is one the answer must contain.

    ``traps`` more MS-recruiting studies have every site within the radius WITHDRAWN or
    COMPLETED (one is moved to Boston if none is near): the API's geo filter matches
    them (it ignores site status), but nobody can join them near Boston.
    """
    from tests.datagen import generate_studies

    rng = random.Random(f"boston-{seed}-{n}")
    count = int((n + traps) * 1.7) + 60  # about 60% of generated studies are MS and recruiting
    while True:
        targets: list[dict[str, Any]] = []
        trapped: list[dict[str, Any]] = []
        decoys: list[dict[str, Any]] = []
        for study in generate_studies(count, seed):
            recruiting = study["protocolSection"]["statusModule"]["overallStatus"] == "RECRUITING"
            if _is_ms(study) and recruiting:
                if len(targets) < n:
                    targets.append(study)
                elif len(trapped) < traps:
                    trapped.append(study)
            elif len(decoys) < n // 2:
                decoys.append(study)
        if len(targets) == n and len(trapped) == traps:
            break
        count = int(count * 1.3)
    for study, trap in [(s, False) for s in targets] + [(s, True) for s in trapped]:
        module = study["protocolSection"].setdefault("contactsLocationsModule", {})
        locations = module.setdefault("locations", [])
        near = sorted((_site_distance(loc, lat, lon), i) for i, loc in enumerate(locations))
        near = [(d, i) for d, i in near if d <= RADIUS_MI]
        if trap:
            for _, i in near:
                locations[i]["status"] = rng.choice(("WITHDRAWN", "COMPLETED"))
            if not near:
                locations.append(dict(locations[0]) if locations else {"facility": "Research Site"})
                _move_to_boston(locations[-1], "WITHDRAWN", lat, lon, rng)
            continue
        if any(locations[i].get("status", "RECRUITING") == "RECRUITING" for _, i in near):
            continue
        if near:
            locations[near[0][1]]["status"] = "RECRUITING"
            continue
        if not locations:
            locations.append({"facility": "Research Site", "country": "United States"})
        i = next((k for k, loc in enumerate(locations) if loc.get("status") == "RECRUITING"), 0)
        _move_to_boston(locations[i], "RECRUITING", lat, lon, rng)
    expected = {s["protocolSection"]["identificationModule"]["nctId"] for s in targets}
    studies = targets + trapped + decoys
    random.Random(seed).shuffle(studies)
    return studies, expected


# -- the stand-in --------------------------------------------------------------------------


@contextlib.contextmanager
def serve(studies: list[dict[str, Any]]) -> Iterator[Any]:
    from tests.fakeapi import FakeCTGov

    api = FakeCTGov(studies).start()
    gc.collect()
    gc.freeze()  # the corpus is read-only: keep the collector from walking it while serving
    try:
        yield api
    finally:
        api.stop()
        gc.unfreeze()


@dataclass
class Traffic:
    requests: int
    bytes: int
    statuses: list[int]
    params: list[dict[str, str]]


def traffic(api: Any, action: Callable[[], Any]) -> tuple[Traffic, Any]:
    """What the stand-in saw while ``action`` ran."""
    api.reset_log()
    value = action()
    log = [r for r in api.requests if r.path.endswith("/studies")]
    other = [r for r in api.requests if not r.path.endswith("/studies")]
    t = Traffic(len(log) + len(other), sum(r.bytes_sent for r in api.requests),
                [r.status for r in api.requests], [r.params for r in api.requests])
    return t, value


# -- measurements in fresh processes (internal subcommands) ----------------------------


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _fetch_pages(url: str, first: dict[str, str]) -> Iterator[bytes]:
    import requests

    with requests.Session() as session:
        params = dict(first)
        while True:
            response = session.get(url.rstrip("/") + "/studies", params=params, timeout=(10, 60))
            response.raise_for_status()
            body = response.content
            yield body
            token = json.loads(body).get("nextPageToken")
            if not token:
                return
            params = {k: v for k, v in first.items() if k != "countTotal"}
            params["pageToken"] = token


def cmd_hold(url: str, params: str) -> None:
    """RSS growth from holding every page's parsed JSON (what trialfinder is sent) at once."""
    import requests  # noqa: F401  (in the baseline, not the growth)

    gc.collect()
    before = _rss_now_mb()
    pages = []
    for body in _fetch_pages(url, json.loads(params)):
        pages.append(json.loads(body))
        del body
    gc.collect()
    after = _rss_now_mb()
    count = sum(len(p["studies"]) for p in pages)
    print(json.dumps({"studies": count, "held_mb": after - before, "base_mb": before}))


def cmd_cpu(url: str, params: str, repeat: int) -> None:
    """CPU seconds for parsing, match + rank, and rendering, on what trialfinder is sent.

    Pages are fetched first (not timed) and kept as bytes; each is then decoded (not
    timed), parsed and matched one at a time, keeping only the matches with their site
    lists dropped, as ``finder.search`` does, so memory and the collector's work look
    like the command's and not like a process holding every record at once.
    """
    from dataclasses import replace

    from trialfinder.finder import SearchResult
    from trialfinder.models import Trial
    from trialfinder.query import build_query
    from trialfinder.ranking import match, rank
    from trialfinder.render import render_search

    pages = list(_fetch_pages(url, json.loads(params)))
    query = build_query(near=NEAR)
    times: dict[str, list[float]] = {"parse": [], "rank": [], "json": [], "table": []}
    clock = time.process_time
    count = kept = kept_bytes = 0
    for _ in range(repeat):
        parse = ranking = 0.0
        matches = []
        count = 0
        gc.collect()
        for body in pages:
            records = json.loads(body)["studies"]
            count += len(records)
            t0 = clock()
            trials = [Trial.from_api(r) for r in records]
            t1 = clock()
            for trial in trials:
                found = match(trial, query)
                if found is not None:
                    matches.append(replace(found, trial=replace(trial, sites=())))
            t2 = clock()
            parse, ranking = parse + t1 - t0, ranking + t2 - t1
            del records, trials
        t0 = clock()
        ranked = rank(matches, query.effective_sort)
        ranking += clock() - t0
        result = SearchResult(query, ranked, fetched=count)
        # A full collection before each rendering (not timed), so that it pays for the
        # collections its own allocations cause, not for those parsing left due.
        gc.collect()
        t0 = clock()
        render_search(result, "json")
        t1 = clock()
        gc.collect()
        t2 = clock()
        render_search(result, "table")
        t3 = clock()
        kept = len(ranked)
        kept_bytes = deep_size(ranked)
        for key, value in zip(times, (parse, ranking, t1 - t0, t3 - t2), strict=True):
            times[key].append(value)
        del matches, ranked, result
    print(json.dumps({"studies": count, "matched": kept, "kept_mb": kept_bytes / 2**20,
                      **{k: median(v) for k, v in times.items()}}))


def deep_size(root: Any) -> int:
    """Bytes of every object reachable from ``root`` (types, modules and functions excluded)."""
    import types

    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    seen: set[int] = set()
    stack, total = [root], 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


# -- the fields projection --------------------------------------------------------------


def projection_client(url: str, fields: Sequence[str] | None) -> Any:
    """A trialfinder Client that sends ``fields`` of our choosing (None: full records)."""
    from trialfinder.client import Client

    class ProjectionClient(Client):
        def iter_studies(self, params: Any, max_pages: int = 10_000, **options: Any) -> Any:
            params = dict(params)
            if fields is None:
                params.pop("fields", None)
            else:
                params["fields"] = ",".join(fields)
            return super().iter_studies(params, max_pages, **options)

    return ProjectionClient(url)


def outputs(url: str, fields: Sequence[str] | None) -> tuple[str, str]:
    """trialfinder's JSON and table output for the question, fetched with ``fields``."""
    from trialfinder.finder import search
    from trialfinder.query import build_query
    from trialfinder.render import render_search

    with projection_client(url, fields) as client:
        result = search(client, build_query(near=NEAR))
    return render_search(result, "json"), render_search(result, "table")


def differing_keys(a: str, b: str) -> list[str]:
    """The JSON keys whose values differ between two search outputs."""
    da, db = json.loads(a), json.loads(b)
    if [t["nct_id"] for t in da] != [t["nct_id"] for t in db]:
        return ["(the list of trials or its order)"]
    keys = set()
    for x, y in zip(da, db, strict=True):
        keys |= {k for k in set(x) | set(y) if x.get(k) != y.get(k)}
    return sorted(keys)


@dataclass
class Projection:
    search_fields: list[str]
    smallest: list[str]
    excess: list[str]  # in SEARCH_FIELDS, not needed for this output
    missing: list[str]  # needed, absent from SEARCH_FIELDS
    wrong_keys: list[str]  # JSON keys trialfinder gets wrong with SEARCH_FIELDS
    verified_at: list[int] = field(default_factory=list)


def find_smallest_projection(url: str) -> Projection:
    """Start from every piece the output documents, drop each piece the output does not need.

    "Needed" means: without it, the JSON or table output differs from the output
    computed from full records. What is left is the smallest set of named fields.
    """
    from trialfinder.query import SEARCH_FIELDS

    reference = outputs(url, None)
    candidates = list(dict.fromkeys([*SEARCH_FIELDS, *(p for ps in OUTPUT_PIECES.values() for p in ps)]))
    if outputs(url, candidates) != reference:
        raise SystemExit("the documented pieces do not reproduce the full-record output")
    needed = list(candidates)
    for piece in candidates:
        trial = [p for p in needed if p != piece]
        if outputs(url, trial) == reference:
            needed = trial
    tf_json, _ = outputs(url, list(SEARCH_FIELDS))
    return Projection(
        search_fields=list(SEARCH_FIELDS),
        smallest=needed,
        excess=[p for p in SEARCH_FIELDS if p not in needed],
        missing=[p for p in needed if p not in SEARCH_FIELDS],
        wrong_keys=differing_keys(tf_json, reference[0]),
    )


def verify_projection(url: str, fields: list[str]) -> bool:
    return outputs(url, fields) == outputs(url, None)


# -- per-size measurement -----------------------------------------------------------------


@dataclass
class SizeResult:
    n: int
    expected: int
    tf_returned: int = 0
    tf_extra: int = 0
    tf_requests: int = 0
    tf_bytes: int = 0
    floor_requests: int = 0
    full_bytes: int = 0
    smallest_bytes: int = 0
    fixed_bytes: int = 0  # SEARCH_FIELDS plus the pieces it misses
    tf_runs: list[Run] = field(default_factory=list)
    floor_runs: list[Run] = field(default_factory=list)
    held_mb: float = math.nan
    hold_base_mb: float = math.nan
    cpu: dict[str, float] = field(default_factory=dict)
    bio: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tools:
    python: str
    trialfinder: str
    biomcp: str | None
    biomcp_why: str = ""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure_size(
    n: int, runs: int, tools: Tools, seed: int, place: Any, projection: Projection | None,
    tmp: Path,
) -> tuple[SizeResult, Projection]:
    log(f"N={n:,}: generating data")
    studies, expected = build_dataset(n, seed, place.lat, place.lon)
    res = SizeResult(n, len(expected))
    with serve(studies) as api:
        del studies
        env = child_env(TRIALFINDER_API_URL=api.url)
        tf_cmd = [tools.trialfinder, *SEARCH_ARGS]

        # 1. trialfinder once (also warms the stand-in's query cache): output and traffic
        out = tmp / f"tf-{n}.json"
        log(f"N={n:,}: trialfinder search (warm-up, output checked)")
        t, run = traffic(api, lambda: checked(run_child(tf_cmd, env, str(out)), "trialfinder search"))
        ids = [trial["nct_id"] for trial in json.loads(out.read_text())]
        res.tf_returned = len(set(ids) & expected)
        res.tf_extra = len(set(ids) - expected)
        res.tf_requests, res.tf_bytes = t.requests, t.bytes
        if any(s != 200 for s in t.statuses):
            raise SystemExit(f"trialfinder's requests were answered {t.statuses}")
        first, tf_params = t.params[0], t.params

        # 2. the smallest projection (found once, at the first size; checked at the others)
        if projection is None:
            log(f"N={n:,}: finding the smallest fields projection")
            projection = find_smallest_projection(api.url)
            projection.verified_at.append(n)
        elif n <= 1000:
            log(f"N={n:,}: checking the smallest projection reproduces the full-record output")
            if not verify_projection(api.url, projection.smallest):
                raise SystemExit(f"the smallest projection does not reproduce the output at N={n}")
            projection.verified_at.append(n)

        # 3. bytes: the floor with trialfinder's params, with full records, with the smallest set
        floor = [tools.python, str(HERE / "floor.py"), "--url", api.url, "--params"]
        t, _ = traffic(api, lambda: checked(run_child([*floor, json.dumps(first)], env), "floor.py"))
        if t.params != tf_params:
            raise SystemExit("floor.py did not make the same requests as trialfinder")
        res.floor_requests = t.requests
        full = {k: v for k, v in first.items() if k != "fields"}
        log(f"N={n:,}: full records (no fields) and the smallest projection")
        t, _ = traffic(api, lambda: checked(run_child([*floor, json.dumps(full)], env), "floor.py full"))
        res.full_bytes = t.bytes
        smallest = dict(first, fields=",".join(projection.smallest))
        t, _ = traffic(api, lambda: checked(run_child([*floor, json.dumps(smallest)], env), "floor.py smallest"))
        res.smallest_bytes = t.bytes
        if projection.missing:
            fixed = dict(first, fields=",".join([*projection.search_fields, *projection.missing]))
            t, _ = traffic(api, lambda: checked(run_child([*floor, json.dumps(fixed)], env), "floor.py fixed"))
            res.fixed_bytes = t.bytes

        # 4. wall time, CPU and peak RSS: trialfinder and the floor, alternating
        log(f"N={n:,}: {runs} timed runs each of trialfinder and floor.py")
        for _ in range(runs):
            res.tf_runs.append(checked(run_child(tf_cmd, env), "trialfinder search"))
            res.floor_runs.append(checked(run_child([*floor, json.dumps(first)], env), "floor.py"))

        # 5. the raw answers held as Python objects, and in-process CPU per stage
        log(f"N={n:,}: raw answers held in memory; CPU per stage")
        me = [tools.python, str(Path(__file__).resolve())]
        hold = tmp / f"hold-{n}.json"
        checked(run_child([*me, "_hold", api.url, json.dumps(first)], env, str(hold)), "_hold")
        held = json.loads(hold.read_text())
        res.held_mb, res.hold_base_mb = held["held_mb"], held["base_mb"]
        cpu = tmp / f"cpu-{n}.json"
        checked(run_child([*me, "_cpu", api.url, json.dumps(first), "3"], env, str(cpu)), "_cpu")
        res.cpu = json.loads(cpu.read_text())
        if not held["studies"] == res.cpu["studies"] == res.cpu["matched"] == n:
            raise SystemExit(f"the stand-in answered {held['studies']} studies, {res.cpu['matched']} "
                             f"matched in-process; the data set was built for exactly {n}")

        # 6. BioMCP
        if tools.biomcp:
            log(f"N={n:,}: BioMCP")
            res.bio = measure_biomcp(api, tools.biomcp, place, expected, runs, tmp)
    gc.collect()
    return res, projection


def biomcp_cmd(binary: str, place: Any, limit: int, token: str | None = None) -> list[str]:
    cmd = [binary, "--json", "--no-cache", "search", "trial", "--condition", "multiple sclerosis",
           "--status", "recruiting", "--lat", f"{place.lat}", "--lon", f"{place.lon}",
           "--distance", f"{RADIUS_MI:g}", "--limit", str(limit)]
    return cmd + (["--next-page", token] if token else [])


def measure_biomcp(api: Any, binary: str, place: Any, expected: set[str], runs: int, tmp: Path) -> dict[str, Any]:
    env = child_env(BIOMCP_CTGOV_BASE=api.url)
    out = tmp / "biomcp.json"
    result: dict[str, Any] = {}
    # one invocation, its largest page (--limit 50)
    t, run = traffic(api, lambda: run_child(biomcp_cmd(binary, place, 50), env, str(out)))
    if run.code != 0:
        return {"error": f"exit {run.code}: {run.stderr.strip()[-500:]}", "statuses": t.statuses,
                "params": t.params[:1]}
    data = json.loads(out.read_text())
    ids = {r["nct_id"] for r in data.get("results", [])}
    result.update(single_requests=t.requests, single_bytes=t.bytes, single_statuses=t.statuses,
                  single_returned=len(ids & expected), single_extra=len(ids - expected),
                  single_params=t.params[0] if t.params else {},
                  total_reported=data.get("pagination", {}).get("total"))
    times = [run_child(biomcp_cmd(binary, place, 50), env) for _ in range(runs)]
    result["single_wall"] = median([r.wall for r in times])
    result["single_rss"] = median([r.rss_mb for r in times])

    # every result: --next-page until it says there are no more (one process per page)
    def walk() -> tuple[set[str], int, float, str]:
        got: set[str] = set()
        token, calls, start = None, 0, time.perf_counter()
        while True:
            r = run_child(biomcp_cmd(binary, place, 50, token), env, str(out))
            calls += 1
            if r.code != 0:
                return got, calls, time.perf_counter() - start, f"exit {r.code}: {r.stderr.strip()[-300:]}"
            page = json.loads(out.read_text())
            got |= {x["nct_id"] for x in page.get("results", [])}
            token = page.get("pagination", {}).get("next_page_token")
            if not token or not page.get("pagination", {}).get("has_more") or calls > 10_000:
                return got, calls, time.perf_counter() - start, ""

    t, (got, calls, wall, error) = traffic(api, walk)
    result.update(all_requests=t.requests, all_bytes=t.bytes, all_calls=calls, all_wall=wall,
                  all_returned=len(got & expected), all_extra=len(got - expected), all_error=error,
                  all_statuses=sorted(set(t.statuses)))
    return result


def measure_precision(tools: Tools, seed: int, place: Any, tmp: Path, n: int = 100, traps: int = 25) -> dict[str, Any]:
    """Both tools on a data set where the API also matches ``traps`` studies nobody can join."""
    log(f"precision check: {n} expected + {traps} trap studies")
    studies, expected = build_dataset(n, seed + 1, place.lat, place.lon, traps=traps)
    got: dict[str, Any] = {"expected": len(expected), "traps": traps}
    with serve(studies) as api:
        out = tmp / "precision-tf.json"
        env = child_env(TRIALFINDER_API_URL=api.url)
        t, _ = traffic(api, lambda: checked(run_child([tools.trialfinder, *SEARCH_ARGS], env, str(out)), "trialfinder"))
        ids = {trial["nct_id"] for trial in json.loads(out.read_text())}
        got.update(tf_returned=len(ids & expected), tf_extra=len(ids - expected))
        if tools.biomcp:
            bio = measure_biomcp(api, tools.biomcp, place, expected, 1, tmp)
            got.update(bio_total=bio.get("total_reported"), bio_returned=bio.get("all_returned"),
                       bio_extra=bio.get("all_extra"), bio_error=bio.get("error") or bio.get("all_error"))
    return got


# -- start-up -------------------------------------------------------------------------------


def measure_startup(tools: Tools, runs: int) -> dict[str, list[Run]]:
    env = child_env()
    cmds = {
        "python -c 'import requests'": [tools.python, "-c", "import requests"],
        "trialfinder --help": [tools.trialfinder, "--help"],
        'trialfinder locate "Boston, MA"': [tools.trialfinder, "locate", NEAR],
    }
    for cmd in cmds.values():  # warm: page cache, .pyc files, the gazetteer cache
        checked(run_child(cmd, env), " ".join(cmd))
    got: dict[str, list[Run]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            got[name].append(checked(run_child(cmd, env), name))
    return got


# -- report ---------------------------------------------------------------------------------


def fmt_n(n: int) -> str:
    return f"{n:,}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def report(
    sizes: list[SizeResult], projection: Projection, startup: dict[str, list[Run]],
    precision: dict[str, Any], tools: Tools, runs: dict[int, int], elapsed: float,
) -> str:
    L: list[str] = []
    cols = [f"N = {fmt_n(r.n)}" for r in sizes]
    head = "| | " + " | ".join(cols) + " | target |"
    sep = "|---|" + "---:|" * len(sizes) + "---|"

    def row(label: str, cells: list[str], target: str = "") -> None:
        L.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    L += ["### Search: `trialfinder search --near \"Boston, MA\" --format json`", "", head, sep]
    row("expected trials (recruiting site ≤ 100 mi of Boston)", [fmt_n(r.expected) for r in sizes])
    row("trialfinder returns (of expected / others)", [f"{r.tf_returned:,} / {r.tf_extra}" for r in sizes], "all")
    row("requests: trialfinder", [str(r.tf_requests) for r in sizes])
    row("requests: floor ceil(N/1000)", [str(math.ceil(r.n / PAGE)) for r in sizes], "= floor")
    row("bytes/study: trialfinder (SEARCH_FIELDS)", [f"{r.tf_bytes / r.n:,.0f}" for r in sizes])
    row("bytes/study: smallest projection", [f"{r.smallest_bytes / r.n:,.0f}" for r in sizes])
    row("bytes/study: full records (no fields)", [f"{r.full_bytes / r.n:,.0f}" for r in sizes])
    row("bytes: trialfinder / smallest", [ratio(r.tf_bytes, r.smallest_bytes) for r in sizes], "≤ 1.10x")
    row("bytes: trialfinder / full", [ratio(r.tf_bytes, r.full_bytes) for r in sizes])
    if projection.missing:
        row(f"bytes/study: SEARCH_FIELDS + {', '.join(projection.missing)}", [f"{r.fixed_bytes / r.n:,.0f}" for r in sizes])
        row(f"bytes: SEARCH_FIELDS + {', '.join(projection.missing)} / smallest", [ratio(r.fixed_bytes, r.smallest_bytes) for r in sizes], "≤ 1.10x")
    row("runs (median of)", [str(runs[r.n]) for r in sizes])
    row("wall: trialfinder", [f"{median([x.wall for x in r.tf_runs]):.3f} s" for r in sizes])
    row("wall: floor.py", [f"{median([x.wall for x in r.floor_runs]):.3f} s" for r in sizes])
    row("wall: trialfinder / floor", [ratio(median([x.wall for x in r.tf_runs]), median([x.wall for x in r.floor_runs])) for r in sizes],
        "≤ 1.30x at 1,000 and 10,000")
    row("client CPU (user+sys): trialfinder", [f"{median([x.cpu for x in r.tf_runs]):.3f} s" for r in sizes])
    row("client CPU (user+sys): floor.py", [f"{median([x.cpu for x in r.floor_runs]):.3f} s" for r in sizes])
    row("client CPU: trialfinder / floor", [ratio(median([x.cpu for x in r.tf_runs]), median([x.cpu for x in r.floor_runs])) for r in sizes])
    row("peak RSS: trialfinder", [f"{median([x.rss_mb for x in r.tf_runs]):.1f} MB" for r in sizes])
    row("peak RSS: floor.py", [f"{median([x.rss_mb for x in r.floor_runs]):.1f} MB" for r in sizes])
    row("raw answers held as Python objects (RSS growth)", [f"{r.held_mb:.1f} MB" for r in sizes])
    row("peak RSS: trialfinder / floor", [ratio(median([x.rss_mb for x in r.tf_runs]), median([x.rss_mb for x in r.floor_runs])) for r in sizes])
    growth = []
    for i, r in enumerate(sizes):
        if i == 0:
            growth.append("")
            continue
        prev = sizes[i - 1]
        d = median([x.rss_mb for x in r.tf_runs]) - median([x.rss_mb for x in prev.tf_runs])
        growth.append(f"{d * 1024 / (r.n - prev.n):.2f} KB/study")
    row("trialfinder RSS growth since previous N", growth, "linear")
    row("live size of the ranked matches (deep getsizeof)", [f"{r.cpu['kept_mb']:.1f} MB ({r.cpu['kept_mb'] * 1024 / r.n:.2f} KB/study)" for r in sizes])
    L.append("")

    L += ["### CPU per 1,000 studies, in-process (`time.process_time`, median of 3, no HTTP)", "",
          head, sep]
    for key, label in (("parse", "parse: `Trial.from_api`"), ("rank", "rank: `match` + `rank` (+ dropping site lists, as `search` does)"),
                       ("json", "format: `render_search` json"), ("table", "format: `render_search` table")):
        row(label, [f"{r.cpu[key] * 1000 / r.n * 1000:.1f} ms" for r in sizes])
    row("total", [f"{sum(r.cpu[k] for k in ('parse', 'rank', 'json')) * 1000 / r.n * 1000:.1f} ms (json)" for r in sizes])
    L.append("")

    L += [f"### Start-up (median of {len(next(iter(startup.values())))}, warm gazetteer cache)", "",
          "| command | wall | ratio to `import requests` | peak RSS | target |", "|---|---:|---:|---:|---|"]
    base = median([x.wall for x in startup["python -c 'import requests'"]])
    targets = {"trialfinder --help": "≤ 1.50x", 'trialfinder locate "Boston, MA"': "≤ 2.00x"}
    for name, rs in startup.items():
        w = median([x.wall for x in rs])
        L.append(f"| `{name}` | {w * 1000:.0f} ms | {ratio(w, base)} | {median([x.rss_mb for x in rs]):.1f} MB | {targets.get(name, '')} |")
    L.append("")

    L += ["### BioMCP (`biomcp search trial`), same stand-in and data", ""]
    if not tools.biomcp:
        L += [f"Not measured: {tools.biomcp_why}", ""]
    else:
        for r in sizes:
            if "error" in r.bio:
                L += [f"N = {fmt_n(r.n)}: BioMCP failed, so not measured: {r.bio['error']} "
                      f"(requests answered {r.bio['statuses']}, first with {r.bio['params']})", ""]
        L += [head, sep]

        def b(key: str, f: Callable[[Any], str]) -> list[str]:
            return [f(r.bio[key]) if key in r.bio else "not measured" for r in sizes]

        row("one call (`--limit 50`, its maximum): requests", b("single_requests", str))
        row("one call: trials returned (of expected)", b("single_returned", lambda v: f"{v:,}"))
        row("one call: bytes/returned study", [f"{r.bio['single_bytes'] / max(1, r.bio['single_returned'] + r.bio['single_extra']):,.0f}" if "single_bytes" in r.bio else "not measured" for r in sizes])
        row("one call: wall", b("single_wall", lambda v: f"{v:.3f} s"))
        row("every page (`--next-page` loop): calls / requests", [f"{r.bio['all_calls']} / {r.bio['all_requests']}" if "all_calls" in r.bio else "not measured" for r in sizes])
        row("every page: trials returned (of expected / others)", [f"{r.bio['all_returned']:,} / {r.bio['all_extra']}" if "all_returned" in r.bio else "not measured" for r in sizes])
        row("every page: bytes/study", [f"{r.bio['all_bytes'] / r.n:,.0f}" if "all_bytes" in r.bio else "not measured" for r in sizes])
        row("every page: wall (all calls)", b("all_wall", lambda v: f"{v:.2f} s"))
        row("trialfinder: requests / wall (for comparison)", [f"{r.tf_requests} / {median([x.wall for x in r.tf_runs]):.3f} s" for r in sizes])
        L.append("")
        first = next((r.bio for r in sizes if "single_params" in r.bio), None)
        if first:
            statuses = sorted({s for r in sizes for s in r.bio.get("single_statuses", []) + r.bio.get("all_statuses", [])})
            L += [f"BioMCP's request parameters (answered {statuses} by the stand-in): "
                  f"`{json.dumps(first['single_params'])}`", ""]

    p = precision
    L += [f"### Which trials: {p['expected']} expected plus {p['traps']} studies the API also matches "
          "whose every site within 100 mi is withdrawn or completed", "",
          "| tool | expected trials returned | other trials returned |", "|---|---:|---:|",
          f"| trialfinder | {p['tf_returned']} of {p['expected']} | {p['tf_extra']} |"]
    if not tools.biomcp:
        L.append(f"| BioMCP | not measured | {tools.biomcp_why} |")
    elif p.get("bio_error"):
        L.append(f"| BioMCP (every page) | {p.get('bio_returned')} of {p['expected']} | {p.get('bio_extra')} (failed: {p['bio_error']}) |")
    else:
        L.append(f"| BioMCP (every page) | {p['bio_returned']} of {p['expected']} | {p['bio_extra']} |")
    L.append("")

    L += ["### The `fields` projection", "",
          f"- SEARCH_FIELDS ({len(projection.search_fields)}): `{','.join(projection.search_fields)}`",
          f"- smallest projection carrying everything the JSON and table output show for this question "
          f"({len(projection.smallest)}; checked against full-record output at N = "
          f"{', '.join(fmt_n(v) for v in projection.verified_at)}): `{','.join(projection.smallest)}`",
          f"- in SEARCH_FIELDS but not needed here: {', '.join(projection.excess) or 'none'}",
          f"- needed but missing from SEARCH_FIELDS: {', '.join(projection.missing) or 'none'}",
          f"- JSON keys trialfinder's output gets wrong compared with full records: "
          f"{', '.join(projection.wrong_keys) or 'none'}", ""]
    rev = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip() or "unknown"
    L.append(f"trialfinder at {rev}; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
             f"whole run {elapsed / 60:.1f} min.")
    return "\n".join(L) + "\n"


# -- main ------------------------------------------------------------------------------------


def find_tools(biomcp: str | None) -> Tools:
    python = sys.executable
    tf = Path(python).parent / "trialfinder"
    if not tf.exists():
        found = shutil.which("trialfinder")
        if not found:
            raise SystemExit("no 'trialfinder' script next to this Python or on PATH: pip install -e .")
        tf = Path(found)
    try:
        import requests  # noqa: F401

        import trialfinder  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"run this with the Python of trialfinder's environment ({exc})") from None
    why = ""
    candidates = [biomcp] if biomcp else [shutil.which("biomcp"), "/tmp/biomcp-venv/bin/biomcp"]
    path = next((os.path.abspath(c) for c in candidates if c and Path(c).exists()), None)
    if path is None:
        why = (f"{biomcp} does not exist" if biomcp else
               "no biomcp binary (pip install biomcp-cli into a separate venv, e.g. /tmp/biomcp-venv)")
    else:
        probe = subprocess.run([path, "--version"], capture_output=True, text=True)
        if probe.returncode != 0:
            why, path = f"`{path} --version` failed (exit {probe.returncode}): {probe.stderr.strip()[-300:]}", None
        else:
            log(f"BioMCP: {probe.stdout.strip()} at {path}")
    return Tools(python, str(tf), path, why)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_hold":
        cmd_hold(argv[1], argv[2])
        return 0
    if argv and argv[0] == "_cpu":
        cmd_cpu(argv[1], argv[2], int(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 100 and 1,000 only")
    parser.add_argument("--sizes", help="comma-separated N values (overrides --quick)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs for N <= 1,000 (default 5)")
    parser.add_argument("--runs-large", type=int, default=3, help="timed runs for N > 1,000 (default 3)")
    parser.add_argument("--startup-runs", type=int, default=10, help="start-up runs (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="datagen seed (default 1)")
    parser.add_argument("--biomcp", help="path of the biomcp binary")
    parser.add_argument("--output", help="also write the tables to this file")
    args = parser.parse_args(argv)
    sizes = ([int(s.replace(",", "").replace("_", "")) for s in args.sizes.split(",")] if args.sizes
             else list(QUICK_SIZES if args.quick else DEFAULT_SIZES))
    started = time.perf_counter()
    tools = find_tools(args.biomcp)
    from trialfinder.places import resolve_place

    place = resolve_place(NEAR)  # builds the gazetteer cache if it is missing
    log(f"{NEAR} resolves to {place.lat}, {place.lon}; start-up runs")
    startup = measure_startup(tools, args.startup_runs)
    results: list[SizeResult] = []
    projection: Projection | None = None
    runs = {n: args.runs if n <= 1000 else args.runs_large for n in sizes}
    with tempfile.TemporaryDirectory(prefix="tf-bench-") as tmp:
        for n in sizes:
            res, projection = measure_size(n, runs[n], tools, args.seed, place, projection, Path(tmp))
            results.append(res)
        precision = measure_precision(tools, args.seed, place, Path(tmp))
    assert projection is not None
    text = report(results, projection, startup, precision, tools, runs, time.perf_counter() - started)
    print(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
