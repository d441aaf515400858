"""``locate`` and ``drug-classes``: offline reference commands."""

from __future__ import annotations

import json
import re

import click

from .base import (
    cli,
    output_width,
    resolve_near,
    service_errors,
)


# Unknown options pass through as words, so that "-33.87,151.21" is a place, not an option.
@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("place", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
def locate(place: tuple[str, ...], fmt: str) -> None:
    """Show what a place resolves to (offline; no request is made).

    PLACE is a city, a US ZIP code, 'lat,lon' (a negative latitude needs no quoting or
    '--'), or a region: a US state or a country.

    \b
    Examples:
        trialfinder locate "Boston, MA"
        trialfinder locate 02115
        trialfinder locate -33.87,151.21
        trialfinder locate "Lyon, France" -f json
        trialfinder locate Massachusetts
    """
    for word in place:
        if word.startswith("-") and not _NEGATIVE_NUMBER.match(word):
            raise click.NoSuchOption(word)
    resolved = resolve_near(" ".join(place), regions=True)
    if fmt == "json":
        click.echo(json.dumps(resolved.as_dict(), indent=2))
        return
    if resolved.kind in ("state", "country"):  # a Region
        what = "a US state" if resolved.kind == "state" else "a country"
        click.echo(f"{resolved.name}: {what} (search: trials with a qualifying site anywhere "
                   "in it, no distances)")
        return
    extra = [resolved.kind]
    if resolved.population:
        extra.append(f"population {resolved.population:,}")
    click.echo(f"{resolved.name}: {resolved.lat:.4f}, {resolved.lon:.4f} ({', '.join(extra)})")


_NEGATIVE_NUMBER = re.compile(r"-\.?[0-9]")


@cli.command("drug-classes")
@click.argument("name", required=False)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
def drug_classes_command(name: str | None, fmt: str) -> None:
    """List the drug classes --drug-class knows, with members and code names.

    \b
    Examples:
        trialfinder drug-classes
        trialfinder drug-classes btk
    """
    from tabulate import tabulate

    from ..drugclasses import drug_classes, find_drug_class
    from ..render import wrap

    with service_errors():
        classes = [find_drug_class(name)] if name else list(drug_classes())
    if fmt == "json":
        data = [
            {"key": c.key, "name": c.name, "aliases": list(c.aliases), "description": c.description,
             "members": [{"drug": d.name, "codes": list(d.codes), "brands": list(d.brands),
                          "studied_in_ms": d.studied_in_ms, "source": d.source} for d in c.members]}
            for c in classes
        ]
        click.echo(json.dumps(data, indent=2))
        return
    for i, c in enumerate(classes):
        if i:
            click.echo()
        click.echo(f"{c.key}: {c.name} (also: {', '.join(c.aliases)})")
        click.echo(f"  {c.description}")
        rows = [[d.name, ", ".join(d.codes) or "-", ", ".join(d.brands) or "-", "yes" if d.studied_in_ms else "no"]
                for d in c.members]
        click.echo(tabulate(rows, headers=["Drug", "Code names", "Brands", "In MS trials"], tablefmt="simple"))
        if name:  # the sources below the table, wrapped, so that the table fits any terminal
            width = output_width() or 100
            click.echo("\nSources:")
            for d in c.members:
                click.echo(wrap(d.source, width, "    ", f"  {d.name}: "))


