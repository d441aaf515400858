"""``search`` and ``show``: find trials, and read one in full."""

from __future__ import annotations

import json
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
from .progress import Progress


@cli.command()
@search_options
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show at most N trials.")
@click.option("--sort", type=click.Choice(["distance", "updated", "posted"]), default="distance",
              show_default=True, help="Nearest site first, or most recently updated/posted first.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]),
              default="table", show_default=True, help="Output format.")
@api_url_option
def search(fmt: str, api_url: str | None, **options: Any) -> None:
    """Search for trials, ranked by their nearest recruiting site.

    \b
    Examples:
        trialfinder search --near "Boston, MA"
        trialfinder search -d btk -n 02115 -r 150mi -s open
        trialfinder search -c "multiple sclerosis" -i ocrelizumab -p 3 --age 45 -f json
        trialfinder search -c "" -t "smoldering" --sort updated --limit 20
    """
    from ..finder import search as run_search
    from ..render import footer, render_search

    query = build_query(**options)
    client = make_client(api_url)
    with service_errors(), Progress() as progress:
        result = run_search(client, query, on_skip=lambda why: note(f"warning: skipped a record: {why}"),
                            on_progress=progress)
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
@api_url_option
def show(nct_ids: tuple[str, ...], near: str | None, fmt: str, api_url: str | None) -> None:
    """Show trials in full: eligibility, contacts, and every site with its status.

    JSON output is one object for one trial, a list for several.

    \b
    Examples:
        trialfinder show NCT04458051
        trialfinder show NCT04458051 --near "Boston, MA"
        trialfinder show NCT05147220 NCT05156281 -f json
    """
    from ..models import Trial, normalise_nct_id
    from ..render import trial_data, trial_text

    try:
        ids = [normalise_nct_id(i) for i in nct_ids]
    except ValueError as exc:
        raise InputFailure(str(exc)) from None
    place = resolve_near(near)
    client = make_client(api_url)
    trials = []
    with service_errors():
        for nct_id in ids:
            trials.append(Trial.from_api(client.study(nct_id)))
    if fmt == "json":
        docs = [trial_data(t, place) for t in trials]
        click.echo(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2))
    else:
        width = output_width() or 100
        click.echo("\n".join(trial_text(t, place, width=width) for t in trials), nl=False)


