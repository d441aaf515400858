"""Deterministic synthetic ClinicalTrials.gov v2 study records for tests and benchmarks.

The records follow the real v2 shape (REFERENCE.md s4.2): mostly multiple-sclerosis
trials, a fraction testing BTK inhibitors, each with 20-200 sites jittered around
~45 real cities. The same ``(n, seed, min_sites, max_sites)`` always gives the same
records, and every record is a fresh tree of plain dicts and lists (no sharing), so
a test may mutate one record without touching another.

    >>> studies = generate_studies(100, seed=1)
    >>> write_dataset("studies.json", 10_000, seed=7)   # for ``python -m tests.fakeapi``
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BTK_DRUGS", "CITIES", "generate_studies", "write_dataset"]

VERSION_HOLDER = "2026-08-19"
_TODAY = dt.date(2026, 8, 19)
_FIRST_POST = dt.date(2017, 1, 2)


@dataclass(frozen=True)
class City:
    """A real city and its real coordinates, with the registry's spelling of the country."""

    name: str
    state: str | None
    country: str
    lat: float
    lon: float
    zip_base: str  # a postal code pattern: '#' = digit, '@' = letter


CITIES: tuple[City, ...] = (
    City("Boston", "Massachusetts", "United States", 42.3601, -71.0589, "021##"),
    City("New York", "New York", "United States", 40.7128, -74.0060, "100##"),
    City("Chicago", "Illinois", "United States", 41.8781, -87.6298, "606##"),
    City("Los Angeles", "California", "United States", 34.0522, -118.2437, "900##"),
    City("San Francisco", "California", "United States", 37.7749, -122.4194, "941##"),
    City("Houston", "Texas", "United States", 29.7604, -95.3698, "770##"),
    City("Dallas", "Texas", "United States", 32.7767, -96.7970, "752##"),
    City("Seattle", "Washington", "United States", 47.6062, -122.3321, "981##"),
    City("Portland", "Oregon", "United States", 45.5152, -122.6784, "972##"),
    City("Philadelphia", "Pennsylvania", "United States", 39.9526, -75.1652, "191##"),
    City("Baltimore", "Maryland", "United States", 39.2904, -76.6122, "212##"),
    City("Cleveland", "Ohio", "United States", 41.4993, -81.6944, "441##"),
    City("Miami", "Florida", "United States", 25.7617, -80.1918, "331##"),
    City("Atlanta", "Georgia", "United States", 33.7490, -84.3880, "303##"),
    City("Denver", "Colorado", "United States", 39.7392, -104.9903, "802##"),
    City("Rochester", "Minnesota", "United States", 44.0121, -92.4802, "559##"),
    City("Nashville", "Tennessee", "United States", 36.1627, -86.7816, "372##"),
    City("Phoenix", "Arizona", "United States", 33.4484, -112.0740, "850##"),
    City("Toronto", "Ontario", "Canada", 43.6532, -79.3832, "M5@ #@#"),
    City("Montreal", "Quebec", "Canada", 45.5017, -73.5673, "H3@ #@#"),
    City("Vancouver", "British Columbia", "Canada", 49.2827, -123.1207, "V6@ #@#"),
    City("London", None, "United Kingdom", 51.5074, -0.1278, "@W# #@@"),
    City("Paris", None, "France", 48.8566, 2.3522, "750##"),
    City("Lyon", None, "France", 45.7640, 4.8357, "6900#"),
    City("Berlin", None, "Germany", 52.5200, 13.4050, "10###"),
    City("Munich", "Bavaria", "Germany", 48.1351, 11.5820, "80###"),
    City("Madrid", None, "Spain", 40.4168, -3.7038, "280##"),
    City("Barcelona", "Catalonia", "Spain", 41.3874, 2.1686, "080##"),
    City("Rome", None, "Italy", 41.9028, 12.4964, "001##"),
    City("Milan", None, "Italy", 45.4642, 9.1900, "201##"),
    City("Warsaw", None, "Poland", 52.2297, 21.0122, "0#-###"),
    City("Prague", None, "Czechia", 50.0755, 14.4378, "1## ##"),
    City("Amsterdam", None, "Netherlands", 52.3676, 4.9041, "10## @@"),
    City("Stockholm", None, "Sweden", 59.3293, 18.0686, "1## ##"),
    City("Copenhagen", None, "Denmark", 55.6761, 12.5683, "2###"),
    City("Vienna", None, "Austria", 48.2082, 16.3738, "1###"),
    City("Istanbul", None, "Turkey (Türkiye)", 41.0082, 28.9784, "34###"),
    City("Tel Aviv", None, "Israel", 32.0853, 34.7818, "6######"),
    City("Tokyo", None, "Japan", 35.6762, 139.6503, "1##-####"),
    City("Seoul", None, "South Korea", 37.5665, 126.9780, "0####"),
    City("Shanghai", None, "China", 31.2304, 121.4737, "200###"),
    City("Sydney", "New South Wales", "Australia", -33.8688, 151.2093, "2###"),
    City("Melbourne", "Victoria", "Australia", -37.8136, 144.9631, "3###"),
    City("São Paulo", None, "Brazil", -23.5505, -46.6333, "0####-###"),
    City("Buenos Aires", None, "Argentina", -34.6037, -58.3816, "C1###@@@"),
    City("Mexico City", None, "Mexico", 19.4326, -99.1332, "06###"),
)


@dataclass(frozen=True)
class Drug:
    """An intervention: canonical name, code names and sponsor."""

    name: str
    other_names: tuple[str, ...]
    sponsor: tuple[str, str] | None = None
    kind: str = "DRUG"


_EMD = "EMD Serono Research & Development Institute, Inc."
_NOVARTIS = ("Novartis Pharmaceuticals", "INDUSTRY")
BTK_DRUGS: tuple[Drug, ...] = (
    Drug("Tolebrutinib", ("SAR442168", "PRN2246"), ("Sanofi", "INDUSTRY")),
    Drug("Evobrutinib", ("M2951", "MSC2364447C"), (_EMD, "INDUSTRY")),
    Drug("Fenebrutinib", ("GDC-0853", "RO7010939"), ("Hoffmann-La Roche", "INDUSTRY")),
    Drug("Remibrutinib", ("LOU064",), _NOVARTIS),
)
_COMPARATORS: tuple[Drug, ...] = (
    Drug("Teriflunomide", ("Aubagio", "HMR1726")),
    Drug("Placebo", ()),
    Drug("Ocrelizumab", ("Ocrevus", "RO4964913"), None, "BIOLOGICAL"),
    Drug("Dimethyl fumarate", ("Tecfidera", "BG-12")),
    Drug("Interferon beta-1a", ("Avonex",), None, "BIOLOGICAL"),
)
_OTHER_TREATMENTS: tuple[Drug, ...] = (
    Drug("Ofatumumab", ("Kesimpta", "OMB157"), _NOVARTIS, "BIOLOGICAL"),
    Drug("Ocrelizumab", ("Ocrevus", "RO4964913"), ("Genentech, Inc.", "INDUSTRY"), "BIOLOGICAL"),
    Drug("Natalizumab", ("Tysabri", "BG00002"), ("Biogen", "INDUSTRY"), "BIOLOGICAL"),
    Drug("Ublituximab", ("TG-1101", "Briumvi"), ("TG Therapeutics", "INDUSTRY"), "BIOLOGICAL"),
    Drug("Frexalimab", ("SAR441344",), ("Sanofi", "INDUSTRY"), "BIOLOGICAL"),
    Drug("Vidofludimus calcium", ("IMU-838",), ("Immunic AG", "INDUSTRY")),
    Drug("Clemastine fumarate", ("Tavist",), None),
    Drug("Metformin", ("Glucophage",), None),
    Drug("Vitamin D3", ("Cholecalciferol",), None, "DIETARY_SUPPLEMENT"),
    Drug("Aerobic exercise training", (), None, "BEHAVIORAL"),
    Drug("Fatigue self-management program", ("Online CBT",), None, "BEHAVIORAL"),
    Drug("Transcranial direct current stimulation", ("tDCS",), None, "DEVICE"),
)
_ACADEMIC_SPONSORS: tuple[tuple[str, str], ...] = (
    ("Massachusetts General Hospital", "OTHER"),
    ("University of California, San Francisco", "OTHER"),
    ("National Institute of Neurological Disorders and Stroke (NINDS)", "NIH"),
    ("Accelerated Cure Project for Multiple Sclerosis", "OTHER"),
    ("Johns Hopkins University", "OTHER"),
    ("Charite University, Berlin, Germany", "OTHER"),
    ("Assistance Publique - Hôpitaux de Paris", "OTHER"),
    ("University College, London", "OTHER"),
    ("VA Office of Research and Development", "FED"),
    ("Mayo Clinic", "OTHER"),
)
_MS_CONDITIONS = (
    "Multiple Sclerosis", "Relapsing Multiple Sclerosis", "Relapsing-Remitting Multiple Sclerosis",
    "Multiple Sclerosis, Relapsing-Remitting", "Primary Progressive Multiple Sclerosis",
    "Secondary Progressive Multiple Sclerosis", "Progressive Multiple Sclerosis",
    "Non-relapsing Secondary Progressive Multiple Sclerosis", "Clinically Isolated Syndrome",
)
_OTHER_CONDITIONS = (
    "Neuromyelitis Optica Spectrum Disorder", "Myasthenia Gravis", "Chronic Spontaneous Urticaria",
    "Fatigue", "Depression", "Optic Neuritis", "Healthy Volunteers",
)
_KEYWORDS = (
    "MS", "RMS", "PPMS", "SPMS", "BTK inhibitor", "Bruton's tyrosine kinase", "relapse",
    "disability progression", "MRI", "neurofilament light", "cognition", "fatigue",
    "gadolinium-enhancing lesions",
)
_ACRONYMS = (
    "HORIZON", "ASCEND", "EVOLVE", "SUMMIT", "BEACON", "ORBIT", "PINNACLE", "ZENITH", "NOVA",
    "AURORA", "CASCADE", "ECLIPSE", "FRONTIER", "MERIDIAN", "ODYSSEY", "PRISM", "QUEST", "TANDEM",
)
_FIRST = (
    "Alice", "Bruno", "Chen", "Daniela", "Emeka", "Fatima", "Giulia", "Hiroshi", "Ingrid", "Jonas",
    "Kavya", "Lucas", "Maria", "Noah", "Olga", "Pierre", "Quinn", "Rosa", "Sven", "Tomasz", "Yuki",
    "Zanele", "Ahmed", "Beatriz", "Clara", "David", "Elena", "Farid", "Grace", "Hannah",
)
_LAST = (
    "Anderson", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hoffmann", "Ito",
    "Johansson", "Kowalski", "Lefebvre", "Martin", "Nakamura", "Okafor", "Petrov", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Van Dijk", "Wagner", "Yilmaz", "Zhang", "Novak", "O'Brien",
    "Silva", "Kim",
)
_FACILITY_KINDS = (
    "{city} Multiple Sclerosis Center", "University Hospital {city}", "{city} Neurology Associates",
    "{city} Clinical Research Institute", "St. Mary's Hospital {city}", "{city} General Hospital",
    "Research Site", "Novartis Investigative Site", "Sanofi Investigational Site Number : {num}",
    "Clinical Trial Site {num}", "{city} Medical University, Department of Neurology",
)
_SITE_STATUS = (  # site statuses of a recruiting study, with weights
    ("RECRUITING", 80), ("NOT_YET_RECRUITING", 7), ("WITHDRAWN", 4), ("COMPLETED", 3), (None, 6),
)
_INCLUSION = (
    "Diagnosis of multiple sclerosis according to the 2017 revised McDonald criteria",
    "Expanded Disability Status Scale (EDSS) score of 0 to 5.5 at screening",
    "At least one documented relapse within the previous 12 months",
    "Neurologically stable for at least 30 days prior to randomization",
    "Able to undergo MRI with gadolinium contrast",
    "Participants of childbearing potential must use highly effective contraception",
)
_EXCLUSION = (
    "Diagnosis of neuromyelitis optica spectrum disorder",
    "Active chronic infection, including hepatitis B, hepatitis C or HIV",
    "Liver enzymes (ALT or AST) above 2 times the upper limit of normal",
    "Treatment with anti-CD20 therapy within the previous 6 months",
    "Concomitant use of strong CYP3A inducers or inhibitors",
    "History of malignancy within the past 5 years",
    "Pregnant or breastfeeding",
)
_OUTCOMES = (
    ("Annualized Relapse Rate (ARR)", "Up to 36 months"),
    ("Time to onset of 6-month confirmed disability progression (CDP)", "Up to 48 months"),
    ("Number of new or enlarging T2 hyperintense lesions", "Week 24"),
    ("Change from baseline in Symbol Digit Modalities Test score", "Baseline, Month 24"),
    ("Number of participants with adverse events", "Up to 5 years"),
    ("Change in Modified Fatigue Impact Scale score", "Week 12"),
)

_STUDY_STATUS = (("RECRUITING", 75), ("NOT_YET_RECRUITING", 13), ("ACTIVE_NOT_RECRUITING", 12))
_PHASES = (
    (("PHASE2",), 3), (("PHASE3",), 2), (("PHASE2", "PHASE3"), 1), (("PHASE1",), 1),
    (("PHASE4",), 1), (("NA",), 2),
)
_MASKED = ("PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR")
_MIN_AGES = (
    ("18 Years", 12), ("12 Years", 1), ("16 Years", 1), ("21 Years", 1), ("6 Months", 0.3),
    (None, 1),
)
_MAX_AGES = (("55 Years", 4), ("60 Years", 1), ("65 Years", 2), ("75 Years", 1), (None, 5))


def generate_studies(
    n: int,
    seed: int = 0,
    min_sites: int = 20,
    max_sites: int = 200,
    *,
    dense_around: City | None = None,
    dense_share: float = 1 / 3,
    dense_radius_mi: float = 90.0,
) -> list[dict[str, Any]]:
    """``n`` synthetic full study records; deterministic for a given seed.

    NCT IDs are NCT9xxxxxxx (far beyond any real trial); about 1% of records also carry
    an NCT8xxxxxxx ``nctIdAliases`` entry. About a quarter test a BTK inhibitor.

    Dense mode (``dense_around``, one of :data:`CITIES`): about ``dense_share`` of every
    study's sites are drawn from hospitals spread up to ``dense_radius_mi`` around that
    city, as big trials list dozens of sites around a large medical centre. Without it
    the output is exactly that of earlier versions (only ~30 sites per city).
    """
    if n < 0 or min_sites < 0 or max_sites < min_sites:
        raise ValueError("need n >= 0 and 0 <= min_sites <= max_sites")
    if not 0 <= dense_share <= 1 or dense_radius_mi < 0:
        raise ValueError("need 0 <= dense_share <= 1 and dense_radius_mi >= 0")
    rng = random.Random(seed)
    pool = _site_pool(random.Random(f"sites-{seed}"))
    dense = None
    if dense_around is not None:
        near = _dense_pool(random.Random(f"dense-{seed}"), dense_around, dense_radius_mi)
        dense = (near, dense_share)
    ids = rng.sample(range(10**7), n)
    aliases = rng.sample(range(10**7), n)
    return [
        _study(rng, pool, f"NCT9{ids[i]:07d}", f"NCT8{aliases[i]:07d}", (min_sites, max_sites), dense)
        for i in range(n)
    ]


def write_dataset(path: str | Path, n: int, seed: int = 0, **kwargs: int) -> Path:
    """Write ``generate_studies(n, seed, **kwargs)`` as a JSON list, one study per line."""
    path = Path(path)
    studies = generate_studies(n, seed, **kwargs)
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for i, study in enumerate(studies):
            out.write(json.dumps(study, ensure_ascii=False, separators=(",", ":")))
            out.write(",\n" if i + 1 < len(studies) else "\n")
        out.write("]\n")
    return path


# -- helpers -----------------------------------------------------------------------------


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    """One value from ``((value, weight), ...)``."""
    r = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        r -= weight
        if r < 0:
            return value
    return weighted[-1][0]


def _weekday(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    """A random weekday in about [start, end]: the registry posts on weekdays only."""
    day = start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))
    step = dt.timedelta(days=-1 if day.weekday() == 5 else 1)  # Sat -> Fri, Sun -> Mon
    while day.weekday() >= 5:
        day += step
    return day


def _age_years(text: str | None) -> float | None:
    if text is None:
        return None
    number, unit = text.split()
    return int(number) / (12 if unit.startswith("Month") else 1)


# -- sites -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Site:
    facility: str
    city: City
    zip: str
    lat: float | None
    lon: float | None
    people: tuple[tuple[str, str, str], ...]  # (name, phone, email)


def _site_pool(rng: random.Random, per_city: int = 30) -> list[_Site]:
    """Hospitals around each city; trials share sites, as real ones do."""
    pool: list[_Site] = []
    for c in CITIES:
        for _ in range(per_city):
            num = f"{rng.randint(1000000, 9999999)}"
            facility = rng.choice(_FACILITY_KINDS).format(city=c.name, num=num)
            lat: float | None = None
            lon: float | None = None
            if rng.random() >= 0.05:  # ~5% of sites have no geoPoint; the rest are within ~25 km
                lat = round(c.lat + rng.gauss(0, 0.08), 5)
                lon = round(c.lon + rng.gauss(0, 0.08) / max(0.2, math.cos(math.radians(c.lat))), 5)
            people = tuple(_person(rng, c, facility) for _ in range(3))
            pool.append(_Site(facility, c, _postcode(rng, c.zip_base), lat, lon, people))
    return pool


def _dense_pool(rng: random.Random, city: City, radius_mi: float, count: int = 400) -> list[_Site]:
    """``count`` hospitals spread evenly over the disc of ``radius_mi`` around ``city``."""
    pool: list[_Site] = []
    for _ in range(count):
        num = f"{rng.randint(1000000, 9999999)}"
        facility = rng.choice(_FACILITY_KINDS).format(city=city.name, num=num)
        lat: float | None = None
        lon: float | None = None
        if rng.random() >= 0.05:  # as in _site_pool, ~5% of sites have no geoPoint
            miles = radius_mi * math.sqrt(rng.random())  # uniform over the disc
            bearing = rng.uniform(0, 2 * math.pi)
            lat = round(city.lat + miles * math.cos(bearing) / 69.09, 5)
            lon = round(city.lon + miles * math.sin(bearing) / (69.09 * max(0.2, math.cos(math.radians(city.lat)))), 5)
        people = tuple(_person(rng, city, facility) for _ in range(3))
        pool.append(_Site(facility, city, _postcode(rng, city.zip_base), lat, lon, people))
    return pool


def _person(rng: random.Random, city: City, facility: str) -> tuple[str, str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    title = rng.choice(("", ", MD", ", MD, PhD", ", RN", ", PhD"))
    if city.country in ("United States", "Canada"):
        phone = f"{rng.randint(201, 989)}-555-{rng.randint(0, 9999):04d}"
    else:
        phone = f"+{rng.randint(30, 99)} {rng.randint(10, 99)} {rng.randint(100, 999)} "
        phone += f"{rng.randint(1000, 9999)}"
    domain = "".join(ch for ch in facility.lower() if ch.isalnum())[:18] or "site"
    user = "".join(ch for ch in last.lower() if ch.isalpha())
    return f"{first} {last}{title}", phone, f"{first[0].lower()}.{user}@{domain}.example.org"


def _postcode(rng: random.Random, pattern: str) -> str:
    """``'M5@ #@#'`` -> ``'M5K 3B7'``: ``#`` is a digit, ``@`` a letter."""
    out = []
    for ch in pattern:
        if ch == "#":
            ch = str(rng.randint(0, 9))
        elif ch == "@":
            ch = chr(rng.randint(65, 90))
        out.append(ch)
    return "".join(out)


def _location(rng: random.Random, site: _Site, study_status: str) -> dict[str, Any]:
    """One ``locations[]`` entry; site status follows the study's, with exceptions."""
    status: str | None
    if study_status == "RECRUITING":
        status = _pick(rng, _SITE_STATUS)
    elif study_status == "NOT_YET_RECRUITING":
        status = "NOT_YET_RECRUITING" if rng.random() < 0.9 else None
    else:
        status = rng.choice(("ACTIVE_NOT_RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED", None))
    loc: dict[str, Any] = {"facility": site.facility}
    if status:
        loc["status"] = status
    loc["city"] = site.city.name
    if site.city.state:
        loc["state"] = site.city.state
    loc["zip"] = site.zip
    loc["country"] = site.city.country
    if status in ("RECRUITING", "NOT_YET_RECRUITING"):
        name, phone, email = site.people[rng.randrange(3)]
        contacts = [{"name": name, "role": "CONTACT", "phone": phone, "email": email}]
        if rng.random() < 0.5:
            investigator = site.people[rng.randrange(3)][0]
            contacts.append({"name": investigator, "role": "PRINCIPAL_INVESTIGATOR"})
        loc["contacts"] = contacts
    if site.lat is not None:
        loc["geoPoint"] = {"lat": site.lat, "lon": site.lon}
    return loc


# -- studies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The choices one study is built from."""

    status: str
    observational: bool
    btk: Drug | None
    main: Drug
    conditions: list[str]
    sponsor: tuple[str, str]
    acronym: str | None


def _study(
    rng: random.Random, pool: list[_Site], nct: str, alias: str, sites: tuple[int, int],
    dense: tuple[list[_Site], float] | None = None,
) -> dict[str, Any]:
    status = _pick(rng, _STUDY_STATUS)
    observational = rng.random() < 0.12
    ms = rng.random() < 0.88
    btk = rng.choice(BTK_DRUGS) if ms and not observational and rng.random() < 0.33 else None
    main = btk or rng.choice(_OTHER_TREATMENTS)
    if ms:
        conditions = rng.sample(_MS_CONDITIONS, rng.choice((1, 1, 1, 2)))
    else:
        conditions = [rng.choice(_OTHER_CONDITIONS)]
    acronym = None
    if rng.random() < 0.4:
        acronym = rng.choice(_ACRONYMS) + rng.choice(("", " 1", " 2", "-MS", " 3"))
    sponsor = main.sponsor or rng.choice(_ACADEMIC_SPONSORS)
    plan = _Plan(status, observational, btk, main, conditions, sponsor, acronym)

    protocol = {
        "identificationModule": _identification(rng, plan, nct, alias),
        "statusModule": _status(rng, plan),
        "sponsorCollaboratorsModule": _sponsors(rng, plan),
        "oversightModule": {
            "oversightHasDmc": not observational,
            "isFdaRegulatedDrug": main.kind == "DRUG",
            "isFdaRegulatedDevice": main.kind == "DEVICE",
        },
        "descriptionModule": _description(rng, plan),
        "conditionsModule": {"conditions": conditions, "keywords": _keywords(rng, plan)},
        "designModule": _design(rng, plan),
        "armsInterventionsModule": _arms(rng, plan),
        "outcomesModule": _outcomes(rng),
        "eligibilityModule": _eligibility(rng),
        "contactsLocationsModule": _contacts(rng, plan, pool, sites, dense),
    }
    derived: dict[str, Any] = {
        "miscInfoModule": {"versionHolder": VERSION_HOLDER},
        "conditionBrowseModule": _condition_browse(ms, conditions[0]),
    }
    if not observational:
        mesh = {"id": f"C{rng.randint(100000, 999999):09d}", "term": main.name.lower()}
        derived["interventionBrowseModule"] = {"meshes": [mesh]}
    return {"protocolSection": protocol, "derivedSection": derived, "hasResults": False}


def _identification(rng: random.Random, plan: _Plan, nct: str, alias: str) -> dict[str, Any]:
    cond, main, btk = plan.conditions[0], plan.main, plan.btk
    prefix = rng.choice(("EFC", "CLOU", "MS", "GN", "STUDY-", "IRB"))
    ident: dict[str, Any] = {
        "nctId": nct,
        "orgStudyIdInfo": {"id": f"{prefix}{rng.randint(10000, 99999)}"},
        "organization": {"fullName": plan.sponsor[0], "class": plan.sponsor[1]},
    }
    if rng.random() < 0.01:
        ident["nctIdAliases"] = [alias]
    if plan.observational:
        kind = rng.choice(("Registry of", "Observational Study of", "Natural History of"))
        brief = f"{kind} {cond}"
        official = (
            f"A Prospective, Multicenter, Observational Cohort Study of Patients With {cond} "
            "in Routine Practice"
        )
    elif btk:
        comparator = rng.choice(_COMPARATORS)
        brief = f"{btk.name} Versus {comparator.name} in Participants With {cond}"
        official = (
            "A Phase 3, Randomized, Double-blind, Double-dummy, Parallel-group Study to Evaluate "
            f"the Efficacy and Safety of {btk.name} ({btk.other_names[0]}) Compared to "
            f"{comparator.name} in Adults With {cond}"
        )
    else:
        kind = rng.choice(("A Study of", "Effect of", "Safety and Efficacy of"))
        brief = f"{kind} {main.name} in {cond}"
        official = f"A Randomized, Controlled Study of {main.name} for the Treatment of {cond}"
    ident["briefTitle"] = brief
    ident["officialTitle"] = official + (f" ({plan.acronym})" if plan.acronym else "")
    if plan.acronym:
        ident["acronym"] = plan.acronym
    return ident


def _status(rng: random.Random, plan: _Plan) -> dict[str, Any]:
    first_post = _weekday(rng, _FIRST_POST, _TODAY - dt.timedelta(days=3))
    last_update = _weekday(rng, first_post, _TODAY)
    submitted = (first_post - dt.timedelta(days=rng.randint(1, 20))).isoformat()
    start = first_post + dt.timedelta(days=rng.randint(-30, 240))
    primary = start + dt.timedelta(days=rng.randint(365, 1800))
    completion = primary + dt.timedelta(days=rng.randint(0, 700))
    started = start <= _TODAY and plan.status != "NOT_YET_RECRUITING"
    return {
        "statusVerifiedDate": last_update.isoformat()[:7],
        "overallStatus": plan.status,
        "expandedAccessInfo": {"hasExpandedAccess": False},
        "startDateStruct": {
            "date": start.isoformat() if rng.random() < 0.8 else start.isoformat()[:7],
            "type": "ACTUAL" if started else "ESTIMATED",
        },
        "primaryCompletionDateStruct": {"date": primary.isoformat(), "type": "ESTIMATED"},
        "completionDateStruct": {"date": completion.isoformat(), "type": "ESTIMATED"},
        "studyFirstSubmitDate": submitted,
        "studyFirstSubmitQcDate": submitted,
        "studyFirstPostDateStruct": {"date": first_post.isoformat(), "type": "ACTUAL"},
        "lastUpdateSubmitDate": (last_update - dt.timedelta(days=rng.randint(1, 5))).isoformat(),
        "lastUpdatePostDateStruct": {"date": last_update.isoformat(), "type": "ACTUAL"},
    }


def _sponsors(rng: random.Random, plan: _Plan) -> dict[str, Any]:
    module: dict[str, Any] = {
        "responsibleParty": {"type": "SPONSOR"},
        "leadSponsor": {"name": plan.sponsor[0], "class": plan.sponsor[1]},
    }
    if rng.random() < 0.3:
        chosen = rng.sample(_ACADEMIC_SPONSORS, rng.randint(1, 3))
        module["collaborators"] = [{"name": name, "class": cls} for name, cls in chosen]
    return module


def _description(rng: random.Random, plan: _Plan) -> dict[str, Any]:
    summary = (
        f"The purpose of this study is to evaluate {plan.main.name.lower()} in people living with "
        f"{plan.conditions[0].lower()}. Participants will be followed for up to "
        f"{rng.randint(12, 60)} months with regular clinic visits, MRI scans and blood tests. The "
        "study will measure relapse rates, disability progression and safety, and will compare "
        f"outcomes with standard care. Approximately {rng.randint(2, 30) * 10} sites worldwide are "
        "expected to take part."
    )
    module = {"briefSummary": summary}
    if rng.random() < 0.5:
        module["detailedDescription"] = " ".join([summary] * 3)
    return module


def _keywords(rng: random.Random, plan: _Plan) -> list[str]:
    keywords = rng.sample(_KEYWORDS, rng.randint(1, 4))
    return keywords + [plan.btk.other_names[0]] if plan.btk else keywords


def _design(rng: random.Random, plan: _Plan) -> dict[str, Any]:
    study_type = "OBSERVATIONAL" if plan.observational else "INTERVENTIONAL"
    design: dict[str, Any] = {"studyType": study_type}
    if plan.observational:  # observational studies have no phases
        design["patientRegistry"] = rng.random() < 0.5
        design["designInfo"] = {"observationalModel": "COHORT", "timePerspective": "PROSPECTIVE"}
    else:
        phases = ("PHASE3",) if plan.btk else _pick(rng, _PHASES)
        design["phases"] = list(phases)
        design["designInfo"] = {
            "allocation": "RANDOMIZED",
            "interventionModel": "PARALLEL",
            "primaryPurpose": "TREATMENT",
            "maskingInfo": {"masking": "QUADRUPLE", "whoMasked": list(_MASKED)},
        }
    design["enrollmentInfo"] = {
        "count": rng.choice((40, 60, 120, 250, 400, 800, 900, 1000, 1200)) + rng.randint(0, 39),
        "type": "ACTUAL" if plan.status == "ACTIVE_NOT_RECRUITING" else "ESTIMATED",
    }
    return design


def _arms(rng: random.Random, plan: _Plan) -> dict[str, Any]:
    if plan.observational:
        label = f"Participants with {plan.conditions[0]}"
        group = {"label": label, "description": "Routine clinical care; no study intervention."}
        return {"armGroups": [group]}
    drugs = [plan.main]
    if plan.btk or rng.random() < 0.6:
        drugs.append(rng.choice(_COMPARATORS))
    interventions: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for i, drug in enumerate(drugs):
        name = drug.name
        if drug in BTK_DRUGS:  # registries name BTK drugs every which way
            code = drug.other_names[0]
            name = rng.choice((drug.name, f"{drug.name} ({code})", code))
        label = drug.name if i == 0 else f"{drug.name} comparator"
        item: dict[str, Any] = {
            "type": drug.kind,
            "name": name,
            "description": f"{name} administered as specified in the protocol.",
            "armGroupLabels": [label],
        }
        others = [n for n in (drug.name, *drug.other_names) if n != name]
        if others:
            item["otherNames"] = others
        interventions.append(item)
        if i == 0:
            kind = "EXPERIMENTAL"
        else:
            kind = "PLACEBO_COMPARATOR" if drug.name == "Placebo" else "ACTIVE_COMPARATOR"
        groups.append({
            "label": label,
            "type": kind,
            "description": f"Participants will receive {name}.",
            "interventionNames": [f"{drug.kind.replace('_', ' ').title()}: {name}"],
        })
    return {"armGroups": groups, "interventions": interventions}


def _outcomes(rng: random.Random) -> dict[str, Any]:
    chosen = rng.sample(_OUTCOMES, rng.randint(2, 4))
    outcomes = [
        {"measure": m, "description": f"{m} as assessed per protocol.", "timeFrame": t}
        for m, t in chosen
    ]
    return {"primaryOutcomes": outcomes[:1], "secondaryOutcomes": outcomes[1:]}


def _eligibility(rng: random.Random) -> dict[str, Any]:
    min_age, max_age = _pick(rng, _MIN_AGES), _pick(rng, _MAX_AGES)
    lo, hi = _age_years(min_age), _age_years(max_age)
    if lo is not None and hi is not None and hi < lo:
        max_age, hi = None, None
    std = [
        age for age, ok in (
            ("CHILD", lo is not None and lo < 18),
            ("ADULT", hi is None or hi >= 18),
            ("OLDER_ADULT", hi is None or hi >= 65),
        ) if ok
    ]
    inclusion = rng.sample(_INCLUSION, rng.randint(3, len(_INCLUSION)))
    exclusion = rng.sample(_EXCLUSION, rng.randint(3, len(_EXCLUSION)))
    criteria = (
        "Inclusion Criteria:\n\n" + "".join(f"* {c}\n" for c in inclusion)
        + "\nExclusion Criteria:\n\n" + "".join(f"* {c}\n" for c in exclusion)
        + "\nOther protocol-defined inclusion/exclusion criteria may apply."
    )
    module: dict[str, Any] = {
        "eligibilityCriteria": criteria,
        "healthyVolunteers": rng.random() < 0.05,
        "sex": _pick(rng, (("ALL", 18), ("FEMALE", 1), ("MALE", 1))),
    }
    if min_age:
        module["minimumAge"] = min_age
    if max_age:
        module["maximumAge"] = max_age
    module["stdAges"] = std
    return module


def _contacts(
    rng: random.Random, plan: _Plan, pool: list[_Site], bounds: tuple[int, int],
    dense: tuple[list[_Site], float] | None = None,
) -> dict[str, Any]:
    low, high = bounds
    # Skewed towards smaller trials (mean ~ low + 0.3 * (high - low)), as in the registry.
    count = low + int((high - low + 1) * rng.random() ** 2.4)
    if dense is None:
        sites = rng.sample(pool, min(count, len(pool)))
    else:
        near, share = dense
        k = min(round(count * share), len(near))
        sites = rng.sample(near, k) + rng.sample(pool, min(count - k, len(pool)))
        rng.shuffle(sites)
    if sites:
        name, phone, email = rng.choice(sites).people[0]
    else:
        name, phone, email = "Trial Transparency Team", "800-555-0100", "contact-us@example.org"
    official = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}, MD"
    module: dict[str, Any] = {
        "centralContacts": [{"name": name, "role": "CONTACT", "phone": phone, "email": email}],
        "overallOfficials": [
            {"name": official, "affiliation": plan.sponsor[0], "role": "STUDY_DIRECTOR"}
        ],
    }
    if sites:
        module["locations"] = [_location(rng, site, plan.status) for site in sites]
    return module


def _condition_browse(ms: bool, cond: str) -> dict[str, Any]:
    if ms:
        meshes = [{"id": "D009103", "term": "Multiple Sclerosis"}]
        ancestors = [
            {"id": "D020278", "term": "Demyelinating Autoimmune Diseases, CNS"},
            {"id": "D003711", "term": "Demyelinating Diseases"},
            {"id": "D001327", "term": "Autoimmune Diseases"},
        ]
        if "Relapsing" in cond:
            meshes.append({"id": "D020529", "term": "Multiple Sclerosis, Relapsing-Remitting"})
    else:
        meshes, ancestors = [{"id": "D000000", "term": cond}], []
    leaves = [
        {"id": m["id"], "name": m["term"], "asFound": cond, "relevance": "HIGH"} for m in meshes
    ]
    branches = [
        {"abbrev": "BC10", "name": "Nervous System Diseases"},
        {"abbrev": "All", "name": "All Conditions"},
    ]
    return {
        "meshes": meshes,
        "ancestors": ancestors,
        "browseLeaves": leaves,
        "browseBranches": branches,
    }
