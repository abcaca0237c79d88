"""The mail server's settings: SMTP_URL read as documented, required in production; and
a service's keys (the tickets service's entry-code keys, the notifications' SMTP_URL)
stop it at start in production when missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.runtime import ServiceRuntime
from services.common.settings import Environment, Settings
from services.notifications.mail import SmtpServer
from services.notifications.service import definition as notifications
from services.tickets.entry_codes import MissingEntryCodeKeys
from services.tickets.service import definition as tickets
from tests.support.apps import make_settings


def development(tmp_path: Path, **overrides: object) -> Settings:
    settings = make_settings(data_dir=tmp_path, nats_url="nats://127.0.0.1:1")
    return settings.model_copy(update=overrides)


def production(tmp_path: Path, **overrides: object) -> Settings:
    return development(
        tmp_path, environment=Environment.PRODUCTION, jwt_public_key="x", **overrides
    )


def test_smtp_url_is_read_as_documented(tmp_path: Path) -> None:
    url = "smtp://mailer%40shop:p%3Ass@mail.example.com:587"
    assert SmtpServer.of(development(tmp_path, smtp_url=url)) == SmtpServer(
        "mail.example.com", 587, "mailer@shop", "p:ss", use_tls=False
    )
    assert SmtpServer.of(development(tmp_path, smtp_url="smtps://mail.example.com")) == (
        SmtpServer("mail.example.com", 465, use_tls=True)
    )
    catcher = SmtpServer.of(development(tmp_path, mail_catcher_port=2525))
    assert (catcher.hostname, catcher.port) == ("127.0.0.1", 2525)
    with pytest.raises(ValueError, match="SMTP_URL"):
        SmtpServer.of(development(tmp_path, smtp_url="http://mail.example.com"))


async def test_production_refuses_to_start_without_its_keys(tmp_path: Path) -> None:
    with pytest.raises(MissingEntryCodeKeys, match="ENTRY_CODE_KEYS"):
        async with ServiceRuntime.running(tickets, production(tmp_path)):
            pass
    with pytest.raises(RuntimeError, match="SMTP_URL"):
        async with ServiceRuntime.running(notifications, production(tmp_path)):
            pass
