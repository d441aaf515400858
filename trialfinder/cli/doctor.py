"""``doctor``: check the API, the transport, the fields, the place index, the configuration and mail."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from ..status import ExitStatus
from .base import api_url_option, check_api_url, cli, service_errors
from .digest import config_option, config_path

MARKS = {True: "✓", False: "✗", None: "–"}
PLAIN_MARKS = {True: "ok  ", False: "FAIL", None: "skip"}


@cli.command()
@config_option
@click.option("--smtp", "smtp", is_flag=True,
              help="Also connect to the configured mail server: EHLO, STARTTLS and login as "
                   "configured; sends nothing.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@api_url_option
def doctor(config_file: str | None, smtp: bool, fmt: str, api_url: str | None) -> None:
    """Check that everything trialfinder needs works, one line per check.

    The API (which transport gets through, its version and data timestamp), a
    search projected on every field trialfinder uses, the place index, the
    configuration when there is one, and with --smtp the mail server. Exit
    status 0 when every check passes, 1 when any fails.

    \b
    Examples:
        trialfinder doctor
        trialfinder doctor --smtp --config ~/trialfinder.toml
        trialfinder doctor -f json
    """
    from ..deadline import DEFAULT_DEADLINE, Deadline, deadline_seconds
    from ..doctor import check_api, check_config, check_places, check_smtp
    from ..transport import choose

    check_api_url(api_url)
    with service_errors():  # settings every command refuses are exit 2 here too
        deadline = Deadline(deadline_seconds(DEFAULT_DEADLINE))
        choose()[0].close()
    marks = MARKS if _can_print("✓✗–") else PLAIN_MARKS
    results: list[Any] = []

    def report(check: Any) -> None:
        results.append(check)
        if fmt == "table":
            click.echo(f"{marks[check.ok]} {check.name:<9} {check.detail}")

    required = bool(config_file or os.environ.get("TRIALFINDER_CONFIG"))
    config_check, config = check_config(config_path(config_file), required=required)
    report(config_check)
    report(check_places())
    for check in check_api(api_url or (config.api_url if config else None), deadline):
        report(check)
    if smtp:
        report(check_smtp(config.smtp if config else None, deadline))
    failed = [c.name for c in results if c.ok is False]
    if fmt == "json":
        click.echo(json.dumps({"ok": not failed, "checks": [c.as_dict() for c in results]}, indent=2))
    elif failed:
        click.echo(f"{len(failed)} of {len(results)} checks failed: {', '.join(failed)}")
    else:
        click.echo("all checks passed")
    if failed:
        raise click.exceptions.Exit(ExitStatus.ERROR)


def _can_print(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
