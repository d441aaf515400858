"""The ``trialfinder`` command: parses options, calls the library, renders output."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click

from . import __version__
from .exceptions import InputError, NotFound, ServiceError, TrialfinderError
from .status import ExitStatus

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class InputFailure(click.ClickException):
    """Bad input found after option parsing: one line on stderr, exit status 2."""

    exit_code = ExitStatus.USAGE


class TrialfinderGroup(click.Group):
    """A group whose errors are always one line on stderr, with the documented exit status."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        standalone = kwargs.pop("standalone_mode", True)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} -h')" if exc.ctx else ""
            _fail(f"Error: {exc.format_message()}{hint}", ExitStatus.USAGE, standalone, exc)
        except click.ClickException as exc:
            _fail(f"Error: {exc.format_message()}", exc.exit_code, standalone, exc)
        except click.Abort as exc:
            _fail("Aborted.", ExitStatus.INTERRUPTED, standalone, exc)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            # stdout was closed early (e.g. piped into head): stop quietly, and point
            # stdout at /dev/null so the interpreter's final flush does not complain.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            _fail("", ExitStatus.ERROR, standalone, exc)
        if not standalone:
            return code
        sys.exit(code if isinstance(code, int) else ExitStatus.SUCCESS)


def _fail(message: str, code: int, standalone: bool, exc: Exception) -> NoReturn:
    if not standalone:
        raise exc
    if message:
        click.echo(message, err=True)
    sys.exit(code)


@contextlib.contextmanager
def service_errors() -> Iterator[None]:
    """Library errors as one-line CLI errors: bad input exits 2, a failed service exits 1."""
    try:
        yield
    except NotFound as exc:
        raise InputFailure(exc.message or str(exc)) from exc
    except InputError as exc:
        raise InputFailure(str(exc)) from exc
    except ServiceError as exc:
        raise click.ClickException(_describe(exc)) from exc
    except TrialfinderError as exc:
        raise click.ClickException(str(exc)) from exc


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else url


def note(message: str) -> None:
    """A message for the person, not the data: stderr."""
    click.echo(message, err=True)


def _radius(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    from .query import parse_radius

    if value is None:
        return None
    try:
        return parse_radius(value)
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def announce_first_build() -> None:
    """The first place lookup builds the offline index (seconds, once): say so."""
    from .places import gazetteer_path

    if not gazetteer_path().exists():
        note("note: building the offline place index (once, a few seconds)")


def resolve_near(text: str | None) -> Any:
    """``--near`` text as a Place, with a note on stderr when the name was ambiguous."""
    if text is None:
        return None
    from .places import resolve_place

    announce_first_build()
    with service_errors():
        place = resolve_place(text)
    if place.note:
        note(f"note: {place.note}")
    return place


def api_url_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--api-url",
        envvar="TRIALFINDER_API_URL",
        show_envvar=True,
        metavar="URL",
        help="ClinicalTrials.gov API v2 base URL (a mirror, proxy or test server).",
    )(fn)


def make_client(api_url: str | None) -> Any:
    from .client import Client

    if api_url is not None:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputFailure(f"--api-url {api_url!r} is not an http(s) URL")
    return Client(api_url)


def search_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that describe a search, shared by ``search`` and saved searches."""
    options = [
        click.option("-c", "--condition", default="multiple sclerosis", show_default=True,
                     help="Condition or disease; '' or 'any' for every condition."),
        click.option("-i", "--intervention", "interventions", multiple=True, metavar="DRUG",
                     help="A drug or other intervention; repeat to OR several."),
        click.option("-d", "--drug-class", metavar="CLASS",
                     help="A drug class, e.g. btk, anti-cd20, s1p (see 'trialfinder drug-classes')."),
        click.option("-t", "--term", default="", help="Other words to match anywhere in the record."),
        click.option("-n", "--near", metavar="PLACE",
                     help="'Boston, MA', 'Lyon, France', a US ZIP code or 'lat,lon'."),
        click.option("-r", "--radius", callback=_radius, metavar="DISTANCE",
                     help="How far from --near: 100mi, 150km, or a number of miles. [default: 100mi]"),
        click.option("-s", "--status", "statuses", multiple=True, metavar="STATUS",
                     help="Overall status, repeatable: recruiting (default), not-yet-recruiting, "
                          "enrolling-by-invitation, active-not-recruiting, ...; 'open' means the "
                          "first three; 'any' means no status filter."),
        click.option("-p", "--phase", "phases", multiple=True, metavar="PHASE",
                     help="Phase, repeatable: early-1, 1, 2, 3, 4, na."),
        click.option("--age", type=click.IntRange(0, 125), metavar="YEARS",
                     help="Only trials whose age limits include this age."),
        click.option("--sex", type=click.Choice(["female", "male"], case_sensitive=False),
                     help="Only trials open to this sex."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_query(**options: Any) -> Any:
    """A Query from command-line values; bad values exit 2, an ambiguous place leaves a note."""
    from .query import build_query as build

    if options.get("near") is not None:
        announce_first_build()
    with service_errors():
        query = build(**options)
    if query.place is not None and query.place.note:
        note(f"note: {query.place.note}")
    return query


@click.group(cls=TrialfinderGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="trialfinder")
def cli() -> None:
    """Find clinical trials recruiting near you on ClinicalTrials.gov.

    \b
    Example:
        trialfinder search --drug-class btk --near "Boston, MA" --radius 150mi
    """


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
    from .finder import search as run_search
    from .render import render_search

    query = build_query(**options)
    client = make_client(api_url)
    with service_errors():
        result = run_search(client, query, on_skip=lambda why: note(f"warning: skipped a record: {why}"))
    click.echo(render_search(result, fmt), nl=False)
    if fmt in ("json", "csv"):
        count = len(result.matches)
        note(f"{count} {'trial' if count == 1 else 'trials'}: {query.describe()}.")


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
    from .models import Trial, normalise_nct_id
    from .render import trial_data, trial_text

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
        click.echo("\n".join(trial_text(t, place) for t in trials), nl=False)


@cli.command()
@click.argument("place")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
def locate(place: str, fmt: str) -> None:
    """Show what a place resolves to (offline; no request is made).

    \b
    Examples:
        trialfinder locate "Boston, MA"
        trialfinder locate 02115
        trialfinder locate "Lyon, France" -f json
    """
    resolved = resolve_near(place)
    if fmt == "json":
        click.echo(json.dumps(resolved.as_dict(), indent=2))
        return
    extra = [resolved.kind]
    if resolved.population:
        extra.append(f"population {resolved.population:,}")
    click.echo(f"{resolved.name}: {resolved.lat:.4f}, {resolved.lon:.4f} ({', '.join(extra)})")


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

    from .drugclasses import drug_classes, find_drug_class

    with service_errors():
        classes = [find_drug_class(name)] if name else list(drug_classes())
    if fmt == "json":
        data = [
            {"key": c.key, "name": c.name, "aliases": list(c.aliases), "description": c.description,
             "members": [{"drug": d.name, "codes": list(d.codes), "studied_in_ms": d.studied_in_ms,
                          "source": d.source} for d in c.members]}
            for c in classes
        ]
        click.echo(json.dumps(data, indent=2))
        return
    for i, c in enumerate(classes):
        if i:
            click.echo()
        click.echo(f"{c.key}: {c.name} (also: {', '.join(c.aliases)})")
        click.echo(f"  {c.description}")
        rows = [[d.name, ", ".join(d.codes) or "-", "yes" if d.studied_in_ms else "no"]
                + ([d.source] if name else []) for d in c.members]
        headers = ["Drug", "Code names", "In MS trials"] + (["Source"] if name else [])
        click.echo(tabulate(rows, headers=headers, tablefmt="simple"))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="trialfinder")


# -- saved searches and digests ----------------------------------------------------


def config_path(value: str | None) -> Any:
    """``--config``, else ``$TRIALFINDER_CONFIG``, else the user config directory."""
    import os
    from pathlib import Path

    if value:
        return Path(value).expanduser()
    env = os.environ.get("TRIALFINDER_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(click.get_app_dir("trialfinder")) / "config.toml"


config_option = click.option(
    "--config", "config_file", metavar="FILE",
    help="Configuration file. [default: $TRIALFINDER_CONFIG, else the user config directory]",
)


def load(config_file: str | None) -> Any:
    from .config import load_config

    with service_errors():
        return load_config(config_path(config_file))


@cli.group("config")
def config_group() -> None:
    """Create and check the configuration of saved searches.

    \b
    Examples:
        trialfinder config init
        trialfinder config check --config ~/trialfinder.toml
    """


@config_group.command("init")
@config_option
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def config_init(config_file: str | None, force: bool) -> None:
    """Write a commented example configuration to edit.

    \b
    Example:
        trialfinder config init && $EDITOR "$(trialfinder config path)"
    """
    from .config import EXAMPLE

    path = config_path(config_file)
    if path.exists() and not force:
        raise InputFailure(f"{path} exists; use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(EXAMPLE, encoding="utf-8")
    except OSError as exc:
        raise InputFailure(f"cannot write {path}: {exc.strerror}") from None
    note(f"wrote {path}")


@config_group.command("path")
@config_option
def config_path_command(config_file: str | None) -> None:
    """Print where the configuration file is looked for.

    \b
    Example:
        trialfinder config path
    """
    click.echo(str(config_path(config_file)))


@config_group.command("check")
@config_option
def config_check(config_file: str | None) -> None:
    """Validate the configuration: keys, types, addresses and places (no request is made).

    \b
    Example:
        trialfinder config check
    """
    config = load(config_file)
    for saved in config.searches:
        if saved.query.place is not None and saved.query.place.note:
            note(f"note: search {saved.name!r}: {saved.query.place.note}")
        click.echo(f"{saved.name}: {saved.query.describe()}; to {', '.join(saved.recipients)}")
    if config.smtp is None:
        note("note: no [smtp] table: 'digest' can only run with --dry-run")
    else:
        click.echo(f"smtp: {config.smtp.host}:{config.smtp.port} ({config.smtp.security})")
    click.echo(f"state: {config.state}")
    click.echo(f"{config.path}: OK")


@cli.command()
@config_option
@click.option("--search", "names", multiple=True, metavar="NAME", help="Run only this saved search (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the e-mails instead of sending; change no state.")
@click.option("--output", metavar="DIR", type=click.Path(file_okay=False),
              help="With --dry-run: write one .eml file per e-mail into DIR.")
@click.option("--baseline", is_flag=True,
              help="Record the current matches as already reported, without sending.")
@api_url_option
def digest(config_file: str | None, names: tuple[str, ...], dry_run: bool, output: str | None,
           baseline: bool, api_url: str | None) -> None:
    """E-mail what is new or changed for each saved search since its last digest.

    Run it from cron or a systemd timer. State changes only after the mail
    server accepted a message, so a failed send is sent again next time.

    \b
    Examples:
        trialfinder digest
        trialfinder digest --search btk-boston --dry-run
        trialfinder digest --baseline
    """
    from pathlib import Path

    from . import digest as digests
    from .mail import compose, deliver
    from .store import State, run_lock

    if output and not dry_run:
        raise InputFailure("--output goes with --dry-run")
    if baseline and dry_run:
        raise InputFailure("--baseline and --dry-run do not go together")
    config = load(config_file)
    with service_errors():
        searches = config.select(list(names))
    if config.smtp is None and not (dry_run or baseline):
        raise InputFailure(f"{config.path}: smtp: missing [smtp] table (or use --dry-run)")
    if config.smtp is not None and not (dry_run or baseline):
        with service_errors():
            config.smtp.password()  # a missing password is a configuration error, found up front
    client = make_client(api_url or config.api_url)
    failures = 0
    with service_errors(), run_lock(config.state) if not dry_run else contextlib.nullcontext():
        state = State(config.state, create=not dry_run)
        for saved in searches:
            try:
                news = digests.prepare(client, state, saved, max_items=10**9 if baseline else digests.MAX_ITEMS)
            except ServiceError as exc:
                failures += 1
                note(f"error: search {saved.name!r}: {_describe(exc)}; nothing sent, nothing recorded")
                continue
            for warning in news.warnings:
                note(f"warning: search {saved.name!r}: {warning}")
            new, changed, gone = news.counts()
            summary = f"{saved.name}: {new} new, {changed} changed, {gone} gone"
            if baseline:
                digests.record(state, news, "baseline")
                note(f"{saved.name}: recorded {news.matching} current matches as already reported")
                continue
            if news.empty and not saved.send_empty:
                if not dry_run:
                    digests.record(state, news, "nothing-new")
                note(f"{summary}: no e-mail")
                continue
            if dry_run:
                sender = config.smtp.sender if config.smtp else "trialfinder@localhost"
                message = compose(news, sender, list(saved.recipients))
                if output:
                    folder = Path(output)
                    folder.mkdir(parents=True, exist_ok=True)
                    target = folder / f"{saved.name}.eml"
                    target.write_bytes(bytes(message))
                    note(f"{summary}: wrote {target}")
                else:
                    click.echo(readable(message))
                continue
            try:
                refused = deliver(state, news, config.smtp)  # type: ignore[arg-type]
            except ServiceError as exc:
                failures += 1
                note(f"error: search {saved.name!r}: {exc}; nothing recorded, it is sent again next run")
                continue
            if refused:
                failures += 1
                note(f"warning: search {saved.name!r}: the server refused {', '.join(refused)}")
            note(f"{summary}: sent to {', '.join(saved.recipients)}")
        state.close()
    if failures:
        raise click.exceptions.Exit(ExitStatus.ERROR)


def readable(message: Any) -> str:
    """Headers and the plain-text part, decoded, for a person reading a dry run."""
    headers = "".join(f"{k}: {message[k]}\n" for k in ("Subject", "From", "To", "Date", "Message-ID"))
    plain = message.get_body(("plain",)).get_content()
    return f"{headers}\n{plain}\n(an HTML part with the same content is not shown; --output DIR writes both)\n"


def _describe(exc: Exception) -> str:
    url = getattr(exc, "url", "")
    return f"{getattr(exc, 'method', 'GET')} {_short_url(url)}: {exc}" if url else str(exc)
