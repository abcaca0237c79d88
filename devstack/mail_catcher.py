"""Development's mail server: aiosmtpd keeping every message it is sent as a file of a
Maildir (``<maildir>/new/``, where `make run` says to read them).

It runs in a thread of the process that starts it (`ticketing up`'s), not as a process
of its own: a Python process for it cost about 25 MiB of memory to write a few files.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from devstack.process import log_tail

# aiosmtpd's logger.
LOGGER = logging.getLogger("mail.log")


class MailCatcher:
    """Started, checked and stopped as a ManagedProcess is, so the stack treats it as its
    other parts."""

    name = "mail catcher"

    def __init__(self, *, host: str, port: int, maildir: Path, log_path: Path) -> None:
        self.host = host
        self.port = port
        self.maildir = maildir
        self.log_path = log_path
        self._controller: Controller | None = None
        self._log: logging.Handler | None = None

    def start(self) -> None:
        if self.running():
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Its errors, as `python -m aiosmtpd` logged them, in its log of the data dir.
        self._log = logging.FileHandler(self.log_path, encoding="utf-8")
        self._log.setLevel(logging.ERROR)
        self._log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        LOGGER.addHandler(self._log)
        # Mailbox makes the Maildir (and its tmp/new/cur) when it is missing.
        self._controller = Controller(Mailbox(self.maildir), hostname=self.host, port=self.port)
        try:
            self._controller.start()
        except Exception as error:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {error}") from error

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop(no_assert=True)
            self._controller = None
        if self._log is not None:
            LOGGER.removeHandler(self._log)
            self._log.close()
            self._log = None

    def running(self) -> bool:
        return self._controller is not None and self._controller.loop.is_running()

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)
