"""What a person says about themselves: the profile a pre-screen compares criteria with.

The TOML form is a contract (README "Could I join?"): exactly the keys in
``KEYS`` and ``TREATMENT_KEYS``, every one optional. Bad values raise
:class:`~trialfinder.exceptions.InputError` naming the key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..drugclasses import resolve_drug
from ..exceptions import InputError

MS_TYPES = {
    "rrms": "relapsing-remitting MS",
    "rms": "relapsing MS",
    "cis": "clinically isolated syndrome",
    "spms": "secondary progressive MS",
    "aspms": "active secondary progressive MS",
    "nrspms": "non-active secondary progressive MS",
    "ppms": "primary progressive MS",
}
# The concrete courses each stated type may be: "spms" is active or not, "rms" RRMS or active SPMS.
MS_COURSES = {
    "rrms": frozenset({"rrms"}),
    "rms": frozenset({"rrms", "aspms"}),
    "cis": frozenset({"cis"}),
    "spms": frozenset({"aspms", "nrspms"}),
    "aspms": frozenset({"aspms"}),
    "nrspms": frozenset({"nrspms"}),
    "ppms": frozenset({"ppms"}),
}
SEXES = ("female", "male")
KEYS = (
    "age", "sex", "ms_type", "edss", "years_since_onset", "years_since_diagnosis",
    "months_since_relapse", "never_relapsed", "pregnant", "breastfeeding", "weeks_postpartum",
    "treatments",
)
TREATMENT_KEYS = ("drug", "current", "months_on", "months_since_stopped")


@dataclass(frozen=True)
class Treatment:
    """A disease-modifying therapy the person takes or took."""

    drug: str  # as the person wrote it
    current: bool = False
    months_on: float | None = None
    months_since_stopped: float | None = None

    @property
    def inns(self) -> tuple[str, ...]:
        """The drug's INNs (several when the person named a class)."""
        return resolve_drug(self.drug)

    def as_dict(self) -> dict[str, Any]:
        return {"drug": self.drug, "current": self.current, "months_on": self.months_on,
                "months_since_stopped": self.months_since_stopped}


@dataclass(frozen=True)
class Profile:
    """Everything optional: ``None`` means the person did not say."""

    age: int | None = None
    sex: str | None = None
    ms_type: str | None = None
    edss: float | None = None
    years_since_onset: float | None = None
    years_since_diagnosis: float | None = None
    months_since_relapse: float | None = None
    never_relapsed: bool | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    weeks_postpartum: float | None = None
    treatments: tuple[Treatment, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return self == Profile()

    @property
    def courses(self) -> frozenset[str]:
        """The concrete MS courses the stated type may be (empty when unstated)."""
        return MS_COURSES.get(self.ms_type or "", frozenset())

    @property
    def relapse_months(self) -> float | None:
        """Months since the last relapse; infinity for never relapsed; None if unstated."""
        if self.months_since_relapse is not None:
            return self.months_since_relapse
        return math.inf if self.never_relapsed else None

    def merged(self, **overrides: Any) -> Profile:
        """This profile with the non-None ``overrides`` (CLI options) checked and applied."""
        given = {k: v for k, v in overrides.items() if v is not None and v != ()}
        if not given:
            return self
        checked = profile_from_mapping(given, where="option")
        return replace(self, **{k: getattr(checked, k) for k in given})

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: getattr(self, k) for k in KEYS if k != "treatments"}
        data["treatments"] = [t.as_dict() for t in self.treatments]
        return {k: v for k, v in data.items() if v not in (None, [])}


def load_profile(path: str | Path) -> Profile:
    """Read a profile TOML file; InputError for an unreadable file or a bad key or value."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read profile {str(path)!r}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"profile {str(path)!r} is not valid TOML: {exc}") from None
    return profile_from_mapping(raw, where=f"profile {str(path)!r}")


def profile_from_mapping(raw: Mapping[str, Any], where: str = "profile") -> Profile:
    """A Profile from TOML-shaped data (also a saved search's inline keys)."""
    for key in raw:
        if key not in KEYS:
            raise InputError(f"{where}: unknown key {key!r}; known keys: {', '.join(KEYS)}")
    values: dict[str, Any] = {}
    if "age" in raw:
        values["age"] = int(_number(raw["age"], "age", where, 0, 125, whole=True))
    if "sex" in raw:
        sex = _text(raw["sex"], "sex", where).lower()
        if sex not in SEXES:
            raise InputError(f"{where}: sex {raw['sex']!r} must be one of: {', '.join(SEXES)}")
        values["sex"] = sex
    if "ms_type" in raw:
        ms_type = _text(raw["ms_type"], "ms_type", where).lower()
        if ms_type not in MS_TYPES:
            raise InputError(f"{where}: ms_type {raw['ms_type']!r} must be one of: {', '.join(MS_TYPES)}")
        values["ms_type"] = ms_type
    if "edss" in raw:
        edss = _number(raw["edss"], "edss", where, 0, 10)
        if edss * 2 != int(edss * 2):
            raise InputError(f"{where}: edss {raw['edss']!r} must be a multiple of 0.5 (e.g. 6.0 or 6.5)")
        values["edss"] = edss
    for key in ("years_since_onset", "years_since_diagnosis", "months_since_relapse", "weeks_postpartum"):
        if key in raw:
            values[key] = _number(raw[key], key, where, 0, 1500)
    for key in ("never_relapsed", "pregnant", "breastfeeding"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise InputError(f"{where}: {key} must be true or false, not {raw[key]!r}")
            values[key] = raw[key]
    if values.get("never_relapsed") and values.get("months_since_relapse") is not None:
        raise InputError(f"{where}: never_relapsed = true contradicts months_since_relapse")
    if "treatments" in raw:
        values["treatments"] = _treatments(raw["treatments"], where)
    return Profile(**values)


def _treatments(raw: Any, where: str) -> tuple[Treatment, ...]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise InputError(f"{where}: treatments must be a list of [[treatments]] tables")
    out = []
    for n, table in enumerate(raw, 1):
        at = f"{where}: treatments #{n}"
        for key in table:
            if key not in TREATMENT_KEYS:
                raise InputError(f"{at}: unknown key {key!r}; known keys: {', '.join(TREATMENT_KEYS)}")
        if "drug" not in table:
            raise InputError(f"{at}: drug is required")
        drug = _text(table["drug"], "drug", at).strip()
        if not drug:
            raise InputError(f"{at}: drug must not be empty")
        current = table.get("current", False)
        if not isinstance(current, bool):
            raise InputError(f"{at}: current must be true or false, not {current!r}")
        on = _number(table["months_on"], "months_on", at, 0, 1500) if "months_on" in table else None
        stopped = (_number(table["months_since_stopped"], "months_since_stopped", at, 0, 1500)
                   if "months_since_stopped" in table else None)
        if current and stopped is not None:
            raise InputError(f"{at}: months_since_stopped contradicts current = true")
        out.append(Treatment(drug, current, on, stopped))
    return tuple(out)


def _text(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where}: {key} must be text, not {value!r}")
    return value


def _number(value: Any, key: str, where: str, low: float, high: float, whole: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise InputError(f"{where}: {key} must be a number, not {value!r}")
    if whole and value != int(value):
        raise InputError(f"{where}: {key} must be a whole number, not {value!r}")
    if value < 0:
        raise InputError(f"{where}: {key} must not be negative ({value!r})")
    if not low <= value <= high:
        raise InputError(f"{where}: {key} {value!r} is outside {low:g} to {high:g}")
    return float(value)
