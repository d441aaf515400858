"""Digest e-mails: a plain-text and an HTML part, and delivery over SMTP."""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import urlencode

from .config import SmtpConfig
from .digest import Digest, Item, record
from .exceptions import MailError
from .store import State
from .text import clean_line

SECTIONS = (
    ("new", "New to this search"),
    ("changed", "Changed"),
    ("gone", "No longer matching"),
)


def subject(digest: Digest) -> str:
    """``'trialfinder: 2 new, 1 changed MS trials near Boston, MA'``."""
    new, changed, gone = digest.counts()
    parts = [f"{new} new"] if new else []
    parts += [f"{changed} changed"] if changed else []
    parts += [f"{gone} no longer matching"] if gone else []
    condition = digest.search.query.condition.strip()
    what = "MS" if condition.lower() == "multiple sclerosis" else condition
    news = ", ".join(parts) if parts else "no news:"
    noun = "trial" if new + changed + gone == 1 else "trials"
    text = f"trialfinder: {news} {what} {noun}".replace("  ", " ")
    if digest.search.near:
        region = digest.search.query.region
        text += f" in {region.short_name}" if region is not None else f" near {digest.search.near}"
    return clean_line(text)


def website_link(digest: Digest) -> str:
    """The same search on the ClinicalTrials.gov website (best effort: its own parameters)."""
    q = digest.search.query
    params: dict[str, str] = {}
    if q.condition.strip():
        params["cond"] = q.condition
    terms = [d.name for d in q.drugs]
    if terms:
        params["intr"] = " OR ".join(terms)
    if q.term.strip():
        params["term"] = q.term
    if q.place is not None:
        params.update(locStr=digest.search.near or q.place.name, lat=f"{q.place.lat:.4f}",
                      lng=f"{q.place.lon:.4f}", distance=f"{q.radius.miles:.0f}")
    elif q.region is not None:
        if q.region.kind == "state":
            params.update(state=q.region.short_name, country="United States")
        else:
            params.update(country=q.region.short_name)
    return "https://clinicaltrials.gov/search?" + urlencode(params)


def _heading(digest: Digest) -> list[str]:
    what = digest.search.query.describe()
    lines = [what[:1].upper() + what[1:] + "."]
    new, changed, gone = digest.counts()
    since = f" since the last digest ({digest.last_run[:10]})" if digest.last_run else " (first digest)"
    lines.append(f"{new} new, {changed} changed, {gone} no longer matching{since}; "
                 f"{digest.matching} trials match now.")
    return lines


def _footer(digest: Digest) -> list[str]:
    lines = list(digest.notes)
    if digest.deferred:
        lines.append(f"{digest.deferred} more items did not fit in this e-mail; they follow in the next digest.")
    lines.append(f"All current matches on ClinicalTrials.gov: {website_link(digest)}")
    lines.append("Distances are straight-line to each site's registered coordinates. Ask the study "
                 "team and your neurologist whether a trial suits you.")
    lines.append(f"Sent by trialfinder for the saved search '{digest.search.name}'.")
    return lines


def text_body(digest: Digest) -> str:
    out = _heading(digest)
    for kind, title in SECTIONS:
        items = [i for i in digest.items if i.kind == kind]
        if not items:
            continue
        out += ["", title.upper(), "-" * len(title)]
        for n, item in enumerate(items, 1):
            out.append(f"{n}. {item.label} ({item.nct_id})")
            out.append(f"   {item.why}")
            if item.fit:
                out.append(f"   Your profile: {item.fit}")
            out += [f"   - {line}" for line in item.details]
            out.append(f"   {item.url}")
    if digest.empty:
        out += ["", "Nothing new or changed since the last digest."]
    out += ["", "-- "] + _footer(digest)
    return "\n".join(out) + "\n"


def html_body(digest: Digest) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>",
        "<body style=\"font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.4;color:#222;max-width:720px\">",
    ]
    heading = _heading(digest)
    parts.append(f"<h2 style=\"font-size:18px\">{e(heading[0])}</h2><p>{e(heading[1])}</p>")
    for kind, title in SECTIONS:
        items = [i for i in digest.items if i.kind == kind]
        if not items:
            continue
        parts.append(f"<h3 style=\"font-size:16px;border-bottom:1px solid #ccc\">{e(title)}</h3><ol>")
        for item in items:
            parts.append(_html_item(item))
        parts.append("</ol>")
    if digest.empty:
        parts.append("<p>Nothing new or changed since the last digest.</p>")
    footer = _footer(digest)
    link = website_link(digest)
    parts.append("<hr><p style=\"font-size:13px;color:#555\">")
    parts.append("<br>".join(
        f"<a href=\"{e(link)}\">All current matches on ClinicalTrials.gov</a>" if line.startswith("All current")
        else e(line) for line in footer))
    parts.append("</p></body></html>")
    return "\n".join(parts) + "\n"


def _html_item(item: Item) -> str:
    e = html.escape
    details = "".join(f"<li>{e(line)}</li>" for line in item.details)
    return (
        f"<li style=\"margin-bottom:12px\"><a href=\"{e(item.url)}\"><b>{e(item.label)}</b></a> "
        f"({e(item.nct_id)})<br><span style=\"color:#444\">{e(item.why)}</span>"
        + (f"<br><span style=\"color:#444\">Your profile: {e(item.fit)}</span>" if item.fit else "")
        + f"<ul style=\"margin:4px 0\">{details}</ul></li>"
    )


def compose(digest: Digest, sender: str, recipients: list[str]) -> EmailMessage:
    """The ``multipart/alternative`` message for one digest."""
    message = EmailMessage()
    message["Subject"] = subject(digest)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "trialfinder.invalid"
    message["Message-ID"] = make_msgid("trialfinder", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text_body(digest))
    message.add_alternative(html_body(digest), subtype="html")
    return message


def send(message: EmailMessage, smtp: SmtpConfig) -> list[str]:
    """Hand the message to the SMTP server; MailError if it did not take it.

    Returns the recipients the server refused while accepting the others: the
    message was delivered, so the digest counts as sent.
    """
    password = smtp.password()
    context = ssl.create_default_context(cafile=smtp.ca_file)  # verifies certificate and host name
    where = f"{smtp.host}:{smtp.port}"
    try:
        if smtp.security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with server:
            if smtp.security == "starttls":
                server.starttls(context=context)
            if smtp.username:
                server.login(smtp.username, password or "")
            refused = server.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP {where}: login refused for {smtp.username} ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"SMTP {where}: every recipient refused: {', '.join(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP {where}: {exc.smtp_code} {_decode(exc.smtp_error)}") from None
    except ssl.SSLError as exc:
        raise MailError(f"SMTP {where}: TLS failed: {exc.reason or exc}") from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise MailError(f"SMTP {where}: {exc.__class__.__name__}: {exc}") from None
    return sorted(refused)


def _decode(value: bytes | str) -> str:
    return clean_line(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)


def deliver(state: State, digest: Digest, smtp: SmtpConfig) -> list[str]:
    """Compose, send, and only then record the digest as reported.

    If sending raises, nothing is recorded and the next run reports the same news.
    Returns the recipients the server refused while accepting the others.
    """
    message = compose(digest, smtp.sender, list(digest.search.recipients))
    refused = send(message, smtp)
    record(state, digest, "sent", message["Message-ID"])
    return refused
