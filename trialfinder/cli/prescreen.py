"""The eligibility pre-screen options shared by ``search`` and ``show``, and the profile they build."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from .base import service_errors

MS_TYPE_CHOICES = ("rrms", "rms", "cis", "spms", "aspms", "nrspms", "ppms")
PROFILE_KEYS = ("profile", "ms_type", "edss", "months_since_relapse", "years_since_onset", "on_drugs")


def profile_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--profile FILE`` and the common profile facts as options (which override the file)."""
    options = [
        click.option("--profile", "profile", metavar="FILE",
                     help="A TOML file describing you (age, MS type, EDSS, treatments...): each trial "
                          "gets a fit pre-screen of its criteria. See README 'Could I join?'."),
        click.option("--ms-type", type=click.Choice(MS_TYPE_CHOICES, case_sensitive=False),
                     help="Your MS type for the pre-screen: rrms, rms, cis, spms, aspms (active SPMS), "
                          "nrspms (non-active SPMS) or ppms."),
        click.option("--edss", type=float, metavar="SCORE", help="Your latest EDSS score (0 to 10, in steps of 0.5)."),
        click.option("--months-since-relapse", type=float, metavar="MONTHS",
                     help="Months since your last relapse, for the pre-screen."),
        click.option("--years-since-onset", type=float, metavar="YEARS",
                     help="Years since your first MS symptoms, for the pre-screen."),
        click.option("--on", "on_drugs", multiple=True, metavar="DRUG",
                     help="A disease-modifying therapy you take now (name, brand or class); repeatable."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def make_profile(options: dict[str, Any], *, age: int | None = None, sex: str | None = None,
                 always: bool = False) -> Any:
    """The Profile the options describe (file first, options over it), or None when none was asked for.

    ``age`` and ``sex`` feed the profile but do not by themselves ask for a pre-screen
    unless ``always``. Pops the profile keys out of ``options``. Bad values exit 2.
    """
    from ..eligibility import Profile, Treatment, load_profile

    values = {k: options.pop(k, None) for k in PROFILE_KEYS}
    on = values.pop("on_drugs") or ()
    path = values.pop("profile")
    if path is None and not on and all(v is None for v in values.values()) and not always:
        return None
    with service_errors():
        profile = load_profile(path) if path is not None else Profile()
        profile = profile.merged(age=age, sex=sex, **values)
        if on:
            from ..drugclasses import resolve_drug

            named = {inn for drug in on for inn in resolve_drug(drug)}
            kept = tuple(t for t in profile.treatments if not set(t.inns) & named)
            profile = replace(profile, treatments=kept + tuple(Treatment(d, current=True) for d in on))
    return profile
