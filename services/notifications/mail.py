"""The e-mails: text and HTML from Jinja2 templates, sent over SMTP with aiosmtplib."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.common.money import from_cents
from services.common.settings import Settings
from services.notifications.models import Notice, NoticeKind

TEMPLATES = Path(__file__).parent / "templates"
_templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)
SUBJECTS = {
    NoticeKind.RECEIPT: "Your receipt: {title}",
    NoticeKind.SOLD: "Your ticket sold: {title}",
    NoticeKind.HOLD_EXPIRED: "Your hold expired: {title}",
    NoticeKind.ORDER_CANCELLED: "Your order was cancelled: {title}",
}
# An SMTP step (connecting, or any one command) that takes longer than this fails the try
# (retried later).
SMTP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False

    @classmethod
    def of(cls, settings: Settings) -> SmtpServer:
        if not settings.smtp_url:
            if settings.is_production:
                raise RuntimeError("SMTP_URL must be set in production")
            return cls("127.0.0.1", settings.mail_catcher_port)
        url = urlsplit(settings.smtp_url)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ValueError("SMTP_URL: smtp://[user:password@]host:port or smtps://...")
        tls = url.scheme == "smtps"
        return cls(
            hostname=url.hostname,
            port=url.port or (465 if tls else 25),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=tls,
        )


def message_for(notice: Notice, to: str, settings: Settings) -> EmailMessage:
    title = notice.title or "your ticket"
    context = {
        "notice": notice,
        "title": title,
        "price": f"${from_cents(notice.price_cents):,.2f}" if notice.price_cents else None,
        "order_url": f"{settings.public_url.rstrip('/')}/orders/{notice.order_id}",
        "code_url": f"{settings.public_url.rstrip('/')}/tickets/{notice.ticket_id}/entry-code",
    }
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = SUBJECTS[notice.kind].format(title=title)
    message["Message-ID"] = f"<{notice.id}@ticketing>"
    message.set_content(_templates.get_template(f"{notice.kind}.txt").render(context))
    message.add_alternative(
        _templates.get_template(f"{notice.kind}.html").render(context), subtype="html"
    )
    return message


def connection(server: SmtpServer) -> aiosmtplib.SMTP:
    """The mail server's connection, for ``async with``: it connects (STARTTLS when offered,
    logging in if the server has a user) on entry and says QUIT on exit, and any number of
    e-mails may go over it in between."""
    return aiosmtplib.SMTP(
        hostname=server.hostname,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.use_tls,
        timeout=SMTP_TIMEOUT_SECONDS,
    )
