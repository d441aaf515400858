"""``search`` and ``show``: find trials, and read one in full."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import click

from .base import (
    InputFailure,
    api_url_option,
    build_query,
    cli,
    make_client,
    note,
    output_width,
    resolve_near,
    search_options,
    service_errors,
)
from .prescreen import make_profile, profile_options
from .progress import Progress


@cli.command()
@search_options
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show at most N trials.")
@click.option("--sort", type=click.Choice(["distance", "updated", "posted"]), default="distance",
              show_default=True, help="Nearest site first, or most recently updated/posted first.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]),
              default="table", show_default=True, help="Output format.")
@profile_options
@click.option("--show-excluded", is_flag=True,
              help="With a profile: also list the trials whose criteria rule you out (last).")
@api_url_option
def search(fmt: str, api_url: str | None, show_excluded: bool, **options: Any) -> None:
    """Search for trials, ranked by their nearest recruiting site.

    \b
    Examples:
        trialfinder search --near "Boston, MA"
        trialfinder search -d btk -n 02115 -r 150mi -s open
        trialfinder search -c "multiple sclerosis" -i ocrelizumab -p 3 --age 45 -f json
        trialfinder search -c "" -t "smoldering" --sort updated --limit 20
        trialfinder search -d btk -n "Boston, MA" --ms-type nrspms --edss 6 --age 45 --sex male
    """
    from ..finder import search as run_search
    from ..render import footer, iter_search_json, render_search

    profile = make_profile(options, age=options.get("age"), sex=options.get("sex"))
    query = build_query(**options)
    client = make_client(api_url)
    extra: tuple[str, ...] = ()
    if profile is not None:
        from ..eligibility import CRITERIA_FIELDS

        extra = CRITERIA_FIELDS
    # With a pre-screen, --limit applies after it, so trials it hides never take a place.
    fetch = replace(query, limit=None) if profile is not None else query
    with service_errors(), Progress() as progress:
        result = run_search(client, fetch, on_skip=lambda why: note(f"warning: skipped a record: {why}"),
                            on_progress=progress, extra_fields=extra)
    if profile is not None:
        from ..eligibility.results import prescreen

        result.query = query
        prescreen(result, profile, hide_excluded=fmt in ("table", "markdown") and not show_excluded,
                  limit=query.limit)
    if fmt == "json":  # written a piece at a time: 10,000 assessed trials are ~50 MB of text
        for piece in iter_search_json(result):
            click.echo(piece, nl=False)
    else:
        click.echo(render_search(result, fmt, output_width()), nl=False)
    for warning in result.warnings:
        note(f"warning: {warning}")
    if fmt in ("json", "csv"):
        note(footer(result)[0])
        for line in result.notes():
            note(line)


@cli.command()
@click.argument("nct_ids", nargs=-1, required=True, metavar="NCT_ID...")
@click.option("-n", "--near", metavar="PLACE", help="Sort sites by distance from this place.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@profile_options
@click.option("--age", type=click.IntRange(0, 125), metavar="YEARS", help="Your age, for the pre-screen.")
@click.option("--sex", type=click.Choice(["female", "male"], case_sensitive=False),
              help="Your sex, for the pre-screen.")
@api_url_option
def show(nct_ids: tuple[str, ...], near: str | None, fmt: str, api_url: str | None, age: int | None,
         sex: str | None, **options: Any) -> None:
    """Show trials in full: eligibility, contacts, and every site with its status.

    JSON output is one object for one trial, a list for several.

    \b
    Examples:
        trialfinder show NCT04458051
        trialfinder show NCT04458051 --near "Boston, MA"
        trialfinder show NCT05147220 NCT05156281 -f json
        trialfinder show NCT04458051 --profile me.toml
    """
    from ..models import Trial, normalise_nct_id
    from ..render import trial_data, trial_text

    try:
        ids = [normalise_nct_id(i) for i in nct_ids]
    except ValueError as exc:
        raise InputFailure(str(exc)) from None
    profile = make_profile(options, age=age, sex=sex.lower() if sex else None,
                           always=age is not None or sex is not None)
    place = resolve_near(near)
    client = make_client(api_url)
    trials = []
    with service_errors():
        for nct_id in ids:
            trials.append(Trial.from_api(client.study(nct_id)))
    if fmt == "json":
        docs = [trial_data(t, place) for t in trials]
        if profile is not None:
            from ..eligibility import assess

            for doc, trial in zip(docs, trials, strict=True):
                doc["eligibility"] = assess(trial, profile).as_dict()
        click.echo(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2))
    elif profile is not None:
        from ..eligibility import assess
        from ..eligibility.render import checklist

        pages = []
        for trial in trials:
            width = output_width() or 100
            lines = checklist(assess(trial, profile), profile, width)
            pages.append(trial_text(trial, place, width=width) + "\nCould you join? Pre-screen against your profile\n"
                         "-----------------------------------------------\n" + "\n".join(lines) + "\n")
        click.echo("\n".join(pages), nl=False)
    else:
        width = output_width() or 100
        click.echo("\n".join(trial_text(t, place, width=width) for t in trials), nl=False)


