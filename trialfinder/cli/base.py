"""What every command shares: the group, one-line errors, options, and small helpers."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click

from .. import __version__
from ..exceptions import InputError, NotFound, ServiceError, TrialfinderError
from ..status import ExitStatus

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class InputFailure(click.ClickException):
    """Bad input found after option parsing: one line on stderr, exit status 2."""

    exit_code = ExitStatus.USAGE


class TrialfinderGroup(click.Group):
    """A group whose errors are always one line on stderr, with the documented exit status."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _output_errors():  # --help is written while the arguments are parsed
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _output_errors():
            return super().invoke(ctx)

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        standalone = kwargs.pop("standalone_mode", True)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
            if standalone:
                sys.stdout.flush()  # a full disk shows here, not in the interpreter's last flush
        except click.exceptions.NoArgsIsHelpError as exc:
            # bare `trialfinder` or `trialfinder config`: the help is the answer, not an error
            if not standalone:
                raise
            try:
                click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
                sys.stdout.flush()
            except OSError as error:
                if error.errno not in _WRITE_ERRORS:
                    raise
                _output_failed(error, standalone)
            sys.exit(ExitStatus.SUCCESS)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} -h')" if exc.ctx else ""
            _fail(f"Error: {exc.format_message()}{hint}", ExitStatus.USAGE, standalone, exc)
        except click.ClickException as exc:
            _fail(f"Error: {exc.format_message()}", exc.exit_code, standalone, exc)
        except (click.Abort, KeyboardInterrupt) as exc:
            _fail("Aborted.", ExitStatus.INTERRUPTED, standalone, exc)
        except (OSError, OutputError) as exc:
            if isinstance(exc, OutputError):
                exc = exc.error
            elif exc.errno not in _WRITE_ERRORS:
                raise
            _output_failed(exc, standalone)
        if not standalone:
            return code
        sys.exit(code if isinstance(code, int) else ExitStatus.SUCCESS)


# What a failed write to stdout raises: a closed pipe, a full disk or quota, an I/O error.
_WRITE_ERRORS = frozenset({errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


class OutputError(Exception):
    """A failed write, carried past click (which would turn a closed pipe into exit 1)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


@contextlib.contextmanager
def _output_errors() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in _WRITE_ERRORS:
            raise OutputError(exc) from exc
        raise


def _output_failed(exc: OSError, standalone: bool) -> NoReturn:
    """stdout was closed early (piped into head: exit 0, quietly) or cannot be written
    (a full disk: one line, exit 1). stdout then points at /dev/null, so the
    interpreter's final flush does not complain."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if exc.errno == errno.EPIPE:
        _fail("", ExitStatus.SUCCESS, standalone, exc)  # the reader has all it wanted
    _fail(f"Error: cannot write the output: {exc.strerror or exc}", ExitStatus.ERROR, standalone, exc)


def _fail(message: str, code: int, standalone: bool, exc: BaseException) -> NoReturn:
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
        raise click.ClickException(describe(exc)) from exc
    except TrialfinderError as exc:
        raise click.ClickException(str(exc)) from exc


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else url


def output_width() -> int | None:
    """How wide stdout is: the terminal's width (``COLUMNS`` wins), else ``COLUMNS`` when
    set, else None: a pipe or file gets every column, so scripts are not surprised."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def note(message: str) -> None:
    """A message for the person, not the data: stderr."""
    click.echo(message, err=True)


def _radius(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    from ..query import parse_radius

    if value is None:
        return None
    try:
        return parse_radius(value)
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _near(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``-n=-33.87,151.21`` reaches click as ``=-33.87,151.21``: drop the ``=``."""
    return value[1:] if value is not None and value.startswith("=") else value


def resolve_near(text: str | None, regions: bool = False) -> Any:
    """``--near`` text as a Place (or a Region, if ``regions``), noting an ambiguous name."""
    if text is None:
        return None
    from ..places import resolve_location, resolve_place

    with service_errors():
        place = resolve_location(text) if regions else resolve_place(text)
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


def check_api_url(api_url: str | None) -> None:
    """``--api-url`` must be an http(s) URL: exit 2 otherwise."""
    if api_url is not None:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputFailure(f"--api-url {api_url!r} is not an http(s) URL")


def make_client(api_url: str | None, deadline: float | None = None) -> Any:
    """The API client of one command: its deadline (``$TRIALFINDER_DEADLINE``, else
    ``deadline``, else the default) starts now; a switch of transport is noted on stderr."""
    from ..client import Client
    from ..deadline import DEFAULT_DEADLINE, deadline_seconds

    check_api_url(api_url)
    with service_errors():
        seconds = deadline_seconds(deadline or DEFAULT_DEADLINE)
        return Client(api_url, deadline=seconds, notify=lambda message: note(f"note: {message}"))


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
        click.option("-n", "--near", metavar="PLACE", callback=_near,
                     help="'Boston, MA', 'Lyon, France', a US ZIP code or 'lat,lon'; or a "
                          "region: a US state ('MA') or a country ('France'), for trials "
                          "with a site anywhere in it."),
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
        click.option("--include-off-condition", is_flag=True,
                     help="Also show trials the registry matched whose conditions, keywords and "
                          "MeSH terms do not name --condition (left out by default)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_query(**options: Any) -> Any:
    """A Query from command-line values; bad values exit 2, an ambiguous place leaves a note."""
    from ..query import build_query as build

    with service_errors():
        query = build(**options)
    located = query.place or query.region
    if located is not None and located.note:
        note(f"note: {located.note}")
    return query


def describe(exc: Exception) -> str:
    url = getattr(exc, "url", "")
    return f"{getattr(exc, 'method', 'GET')} {_short_url(url)}: {exc}" if url else str(exc)


@click.group(cls=TrialfinderGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="trialfinder")
def cli() -> None:
    """Find clinical trials recruiting near you on ClinicalTrials.gov.

    \b
    Example:
        trialfinder search --drug-class btk --near "Boston, MA" --radius 150mi
    """



def main() -> None:
    """Console-script entry point.

    Ctrl-C ends the process at once with status 130: ``os._exit`` does not wait for a
    page still being fetched in the background (the interpreter would join that thread,
    up to the read timeout).
    """
    try:
        cli(prog_name="trialfinder")
    except KeyboardInterrupt:  # pressed outside the command itself (e.g. while importing)
        _exit_now(ExitStatus.INTERRUPTED)
    except SystemExit as exc:
        if exc.code == ExitStatus.INTERRUPTED:
            _exit_now(ExitStatus.INTERRUPTED)
        raise


def _exit_now(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


