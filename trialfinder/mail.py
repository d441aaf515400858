"""Digest e-mails: a plain-text and an HTML part, and delivery over SMTP."""

from __future__ import annotations

import html
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import urlencode

from .actionable import ContactInfo
from .config import SmtpConfig
from .digest import Digest, Item, record
from .exceptions import MailError
from .store import State
from .text import clean_line

NO_CONTACT = "Contact: none listed on ClinicalTrials.gov; the study page may name one"

SECTIONS = (
    ("new", "New to this search"),
    ("changed", "Changed"),
    ("gone", "No longer matching"),
)


def subject(digest: Digest) -> str:
    """``'trialfinder: 2 new, 1 changed MS trials near Boston, MA'``; when the cap held some
    back, what this e-mail holds of each and that the rest follow:
    ``'trialfinder: 50 of 176 new MS trials near Boston, MA, the rest in the next digests'``."""
    shown, totals = digest.counts(), _totals(digest)
    parts = [f"{n} of {total} {kind}" if n != total else f"{n} {kind}"
             for n, total, kind in zip(shown, totals, ("new", "changed", "no longer matching"), strict=True)
             if total]
    condition = digest.search.query.condition.strip()
    what = "MS" if condition.lower() == "multiple sclerosis" else condition
    news = ", ".join(parts) if parts else "no news:"
    noun = "trial" if sum(totals) == 1 else "trials"
    text = f"trialfinder: {news} {what} {noun}".replace("  ", " ")
    if digest.search.near:
        region = digest.search.query.region
        text += f" in {region.prose_name}" if region is not None else f" near {digest.search.near}"
    if digest.deferred:
        text += f", the rest in {_next_digests(digest)}"
    return clean_line(text)


def _totals(digest: Digest) -> tuple[int, int, int]:
    """New, changed and gone before the per-e-mail cap."""
    return digest.totals or digest.counts()


def _next_digests(digest: Digest) -> str:
    """``'the next digest'`` or, when the rest needs more than one, ``'the next digests'``."""
    return "the next digests" if digest.deferred > max(len(digest.items), 1) else "the next digest"


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
    new, changed, gone = _totals(digest)
    since = f" since the last digest ({digest.last_run[:10]})" if digest.last_run else " (first digest)"
    now = f"{digest.matching} trial matches" if digest.matching == 1 else f"{digest.matching} trials match"
    line = f"{new} new, {changed} changed, {gone} no longer matching{since}; {now} now."
    if digest.deferred:
        follow = "follows" if digest.deferred == 1 else "follow"
        line += (f" This e-mail holds the first {len(digest.items)}; the other {digest.deferred} "
                 f"{follow} in {_next_digests(digest)}.")
    lines.append(line)
    return lines


def _footer(digest: Digest) -> list[str]:
    lines = list(digest.notes)
    if digest.deferred:
        items, follow = ("item did", "it follows") if digest.deferred == 1 else ("items did", "they follow")
        lines.append(f"{digest.deferred} more {items} not fit in this e-mail; {follow} in {_next_digests(digest)}.")
    lines.append(f"All current matches on ClinicalTrials.gov: {website_link(digest)}")
    lines.append("Distances are straight-line to each site's registered coordinates. Ask the study "
                 "team and your neurologist whether a trial suits you.")
    lines.append(f"Sent by trialfinder for the saved search '{digest.search.name}'.")
    return lines


def _act_lines(item: Item) -> list[str]:
    """Who may join and whom to ask: new and changed items only."""
    if item.kind == "gone":
        return []
    lines = [f"Age and sex: {item.who}"] if item.who else []
    lines.append(f"Contact: {item.contact.text()}" if item.contact else NO_CONTACT)
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
                out.append(f"   Pre-screen: {item.fit}")
            out += [f"   - {line}" for line in item.details]
            out += [f"   {line}" for line in _act_lines(item)]
            out.append(f"   {item.url}")
    if digest.empty:
        out += ["", "Nothing new or changed since the last digest."]
    out += ["", "-- "] + _footer(digest)
    return "\n".join(out) + "\n"


# Inline styles only (mail readers drop <style> blocks); one column that narrows to a phone.
_BODY = ("margin:0;padding:12px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.45;"
         "color:#222;overflow-wrap:break-word;word-wrap:break-word;-webkit-text-size-adjust:100%")
_MUTED = "color:#555"


def html_body(digest: Digest) -> str:
    e = html.escape
    heading = _heading(digest)
    parts = [
        "<!DOCTYPE html>",
        "<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{e(subject(digest))}</title></head>",
        f"<body style=\"{_BODY}\"><div style=\"max-width:720px;margin:0 auto\">",
        f"<h1 style=\"font-size:19px;line-height:1.3;margin:0 0 8px\">{e(heading[0])}</h1>",
        f"<p style=\"margin:0 0 8px\">{e(heading[1])}</p>",
    ]
    for kind, title in SECTIONS:
        items = [i for i in digest.items if i.kind == kind]
        if not items:
            continue
        parts.append(f"<h2 style=\"font-size:17px;margin:20px 0 8px;padding-bottom:4px;"
                     f"border-bottom:1px solid #ccc\">{e(title)}</h2>")
        parts.append("<ol style=\"margin:0;padding-left:24px\">")
        parts += [_html_item(item) for item in items]
        parts.append("</ol>")
    if digest.empty:
        parts.append("<p>Nothing new or changed since the last digest.</p>")
    link = website_link(digest)
    parts.append(f"<hr style=\"border:0;border-top:1px solid #ccc;margin:20px 0 8px\">"
                 f"<p style=\"font-size:13px;{_MUTED}\">")
    parts.append("<br>".join(
        f"<a href=\"{e(link)}\">All current matches on ClinicalTrials.gov</a>" if line.startswith("All current")
        else e(line) for line in _footer(digest)))
    parts.append("</p></div></body></html>")
    return "\n".join(parts) + "\n"


def _html_item(item: Item) -> str:
    e = html.escape
    details = "".join(f"<li>{e(line)}</li>" for line in item.details)
    out = [
        f"<li style=\"margin:0 0 18px\"><a href=\"{e(item.url)}\"><b>{e(item.label)}</b></a> "
        f"<span style=\"{_MUTED}\">({e(item.nct_id)})</span>",
        f"<div style=\"{_MUTED}\">{e(item.why)}</div>",
        f"<div><b>Pre-screen:</b> {e(item.fit)}</div>" if item.fit else "",
        f"<ul style=\"margin:4px 0;padding-left:20px\">{details}</ul>" if details else "",
    ]
    if item.kind != "gone":
        if item.who:
            out.append(f"<div><b>Age and sex:</b> {e(item.who)}</div>")
        out.append(f"<div><b>Contact:</b> {_html_contact(item.contact)}</div>")
        out.append(f"<div><a href=\"{e(item.url)}\">{e(item.url)}</a></div>")
    out.append("</li>")
    return "".join(out)


def _html_contact(contact: ContactInfo | None) -> str:
    """Name, a tap-to-call number and a mail link where they look like one; all escaped."""
    e = html.escape
    if contact is None:
        return e(NO_CONTACT.removeprefix("Contact: "))
    parts = [e(contact.name)] if contact.name else []
    if contact.phone:
        tel = contact.tel
        phone = f"<a href=\"tel:{e(tel)}\">{e(contact.phone)}</a>" if tel else e(contact.phone)
        parts.append(f"<span style=\"white-space:nowrap\">{phone}</span>")
    if contact.email:
        mailto = contact.mailto
        parts.append(f"<a href=\"mailto:{e(mailto)}\">{e(contact.email)}</a>" if mailto else e(contact.email))
    return ", ".join(parts) + f" <span style=\"{_MUTED}\">({e(contact.where)})</span>"


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
    """Hand the message to the SMTP server; MailError, in plain words, if it did not take it.

    Returns the recipients the server refused while accepting the others: the
    message was delivered, so the digest counts as sent.
    """
    password = smtp.password()
    context = ssl.create_default_context(cafile=smtp.ca_file)  # verifies certificate and host name
    stage = "connect"  # how far the conversation got, for the error message
    try:
        if smtp.security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with server:
            if smtp.security == "starttls":
                stage = "starttls"
                server.starttls(context=context)
            if smtp.username:
                stage = "login"
                server.login(smtp.username, password or "")
            stage = "send"
            refused = server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:  # TLS errors and timeouts are OSErrors too
        raise MailError(describe_failure(exc, smtp, stage)) from None
    return sorted(refused)


def describe_failure(exc: BaseException, smtp: SmtpConfig, stage: str = "send") -> str:
    """One sentence for a failed delivery, without exception class names, with a hint
    when the ``security`` setting and the port seem not to agree."""
    where = f"the mail server at {smtp.host}:{smtp.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where} refused the login for {smtp.username} ({exc.smtp_code} {_decode(exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{where} refused every recipient: {', '.join(exc.recipients)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return (f"{where} does not offer STARTTLS; {_security_hint(smtp, plain=True)}"
                if stage == "starttls" else f"{where} does not support what was asked: {_decode(str(exc))}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} answered {exc.smtp_code} {_decode(exc.smtp_error)}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or exc.reason or "not trusted"
        return (f"TLS with {where} failed: CERTIFICATE_VERIFY_FAILED, {why} (for a private mail server, "
                "set smtp.ca_file to the CA that signed its certificate)")
    if isinstance(exc, ssl.SSLError):
        text = f"TLS with {where} failed: {exc.reason or _decode(str(exc))}"
        if smtp.security == "ssl" and stage == "connect":
            text += f"; {_security_hint(smtp, plain=True)}"
        return text
    if isinstance(exc, socket.gaierror):
        return f"cannot find the mail server {smtp.host!r}: {exc.strerror or 'name lookup failed'} (check smtp.host)"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection (are the host and port right, and is the server running?)"
    silent = isinstance(exc, (TimeoutError, smtplib.SMTPServerDisconnected))
    if silent and stage == "connect" and smtp.security != "ssl":
        return (f"{where} did not greet within {smtp.timeout:g} s; {_security_hint(smtp, plain=False)}")
    if isinstance(exc, TimeoutError):
        return f"{where} did not answer within {smtp.timeout:g} s"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection unexpectedly"
    if isinstance(exc, ConnectionResetError):
        return f"{where} reset the connection"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot reach {where}: {exc.strerror.lower()}"
    return f"{where} failed: {_decode(str(exc))}"


def _security_hint(smtp: SmtpConfig, *, plain: bool) -> str:
    """What to try when ``security`` seems not to match what the server speaks on the port."""
    if plain:  # security = "ssl" (or starttls) met a server that speaks plain SMTP first
        if smtp.security == "ssl":
            return (f'security = "ssl" expects TLS from the first byte (usually port 465); port {smtp.port} '
                    'seems to speak plain SMTP: try security = "starttls" (port 587)')
        return 'try security = "ssl" with port 465, or ask the provider which port offers TLS'
    return (f'if port {smtp.port} expects TLS from the first byte (usually 465), set security = "ssl"')


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
