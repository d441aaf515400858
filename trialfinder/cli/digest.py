"""``config`` and ``digest``: saved searches and their e-mails."""

from __future__ import annotations

import contextlib
from typing import Any

import click

from ..deadline import DIGEST_DEADLINE
from ..exceptions import ServiceError
from ..status import ExitStatus
from .base import InputFailure, api_url_option, cli, describe, make_client, note, service_errors


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
    from ..config import load_config

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
    from ..config import EXAMPLE

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
        located = saved.query.place or saved.query.region
        if located is not None and located.note:
            note(f"note: search {saved.name!r}: {located.note}")
        click.echo(f"{saved.name}: {saved.query.describe()}; to {', '.join(saved.recipients)}")
    if config.smtp is None:
        note("note: no [smtp] table: 'digest' can only run with --dry-run")
    else:
        click.echo(f"smtp: {config.smtp.host}:{config.smtp.port} ({config.smtp.security})")
    click.echo(f"state: {config.state}")
    for warning in readiness_warnings(config):  # the file is valid; these would stop a real run
        note(f"warning: {warning}")
    click.echo(f"{config.path}: OK")


def readiness_warnings(config: Any) -> list[str]:
    """What would stop a real digest run on this machine, though the file itself is valid."""
    import os

    from ..store import writable_dir

    warnings = []
    smtp = config.smtp
    if smtp is not None and smtp.password_env and os.environ.get(smtp.password_env) is None:
        warnings.append(f"smtp.password_env: the environment variable {smtp.password_env} is not set here; "
                        "'digest' will stop with an error until it is (set it where the scheduler runs)")
    state = config.state
    if not writable_dir(state.parent):
        warnings.append(f"state: the directory {state.parent} is not writable; 'digest' will fail "
                        "(only --dry-run works)")
    elif state.exists() and not os.access(state, os.W_OK):
        warnings.append(f"state: {state} is not writable; 'digest' will fail (only --dry-run works)")
    return warnings


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

    from .. import digest as digests
    from ..mail import compose, deliver
    from ..store import State, run_lock

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
    client = make_client(api_url or config.api_url, deadline=DIGEST_DEADLINE)
    failures = 0
    with service_errors(), run_lock(config.state) if not dry_run else contextlib.nullcontext():
        state = State(config.state, create=not dry_run)
        for saved in searches:
            try:
                news = digests.prepare(client, state, saved, max_items=10**9 if baseline else digests.MAX_ITEMS)
            except ServiceError as exc:
                failures += 1
                note(f"Error: search {saved.name!r}: {describe(exc)}; nothing sent, nothing recorded")
                continue
            for warning in news.warnings:
                note(f"warning: search {saved.name!r}: {warning}")
            for line in news.notes:
                note(f"note: search {saved.name!r}: {line}")
            new, changed, gone = news.counts()
            summary = f"{saved.name}: {new} new, {changed} changed, {gone} gone"
            if news.deferred:
                summary += f" ({news.deferred} more in the next digest)"
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
                    target = Path(output) / f"{saved.name}.eml"
                    try:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(bytes(message))
                    except OSError as exc:
                        raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from None
                    note(f"{summary}: wrote {target}")
                else:
                    click.echo(readable(message))
                continue
            try:
                refused = deliver(state, news, config.smtp)  # type: ignore[arg-type]
            except ServiceError as exc:
                failures += 1
                note(f"Error: search {saved.name!r}: {exc}; nothing recorded, it is sent again next run")
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


