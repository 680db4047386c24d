"""Delivery: SMTP (aiosmtplib) when AAP_SMTP_HOST is set, otherwise an outbox folder of .eml files.

Addresses with a non-ASCII domain (numerique@région.example.fr) are sent IDNA-encoded
(numerique@xn--rgion-bsa.example.fr), which every SMTP server accepts; a non-ASCII local part
is left as is and needs a server that offers SMTPUTF8.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Literal, Protocol, cast

import aiosmtplib
import msgspec

TlsMode = Literal["none", "starttls", "ssl"]


class Outgoing(msgspec.Struct, frozen=True):
    notification_id: str
    message_id: str
    sender: str
    sender_name: str
    to: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    body: str
    date: datetime
    attachments: tuple[tuple[str, bytes], ...] = ()  # (file name, PDF bytes)

    @property
    def recipients(self) -> list[str]:
        return [ascii_address(a) for a in (*self.to, *self.bcc)]


def ascii_address(address: str) -> str:
    """IDNA-encode the domain part of an address (the local part is kept)."""
    local, _, domain = address.strip().rpartition("@")
    if domain.isascii():
        return address.strip()
    return f"{local}@{domain.lower().encode('idna').decode('ascii')}"


def build_message(out: Outgoing, *, with_bcc: bool) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=out.sender_name, addr_spec=ascii_address(out.sender))
    msg["To"] = ", ".join(ascii_address(a) for a in out.to) if out.to else out.sender
    if with_bcc and out.bcc:
        msg["Bcc"] = ", ".join(ascii_address(a) for a in out.bcc)
    msg["Subject"] = out.subject
    msg["Date"] = format_datetime(out.date)
    msg["Message-ID"] = out.message_id
    msg["X-Aap-Notification"] = out.notification_id
    msg.set_content(out.body, charset="utf-8", cte="quoted-printable")
    for name, content in out.attachments:
        msg.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return msg


class Mailer(Protocol):
    async def send(self, out: Outgoing) -> None: ...


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        tls: TlsMode = "none",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.user, self.password, self.timeout = user, password, timeout

    async def send(self, out: Outgoing) -> None:
        """Returns once the server accepted the message for at least one recipient; raises otherwise."""
        await aiosmtplib.send(
            build_message(out, with_bcc=False),
            sender=out.sender,
            recipients=out.recipients,
            hostname=self.host,
            port=self.port,
            use_tls=self.tls == "ssl",
            start_tls=self.tls == "starttls",
            username=self.user or None,
            password=self.password or None,
            timeout=self.timeout,
        )


class OutboxMailer:
    """Writes `<notification id>.eml` into a folder, atomically (temp file, fsync, rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_for(self, notification_id: str) -> Path:
        return self.folder / f"{notification_id}.eml"

    async def send(self, out: Outgoing) -> None:
        await asyncio.to_thread(self._write, out.notification_id, bytes(build_message(out, with_bcc=True)))

    def _write(self, notification_id: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path_for(notification_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class MailSettings(msgspec.Struct, frozen=True):
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: TlsMode = "none"
    smtp_user: str | None = None
    smtp_password: str | None = None
    outbox_dir: Path = Path(".aap/outbox")
    retry_base: float = 2.0  # seconds before the first retry, doubled after each failure
    retry_cap: float = 60.0  # the slowest retry pace (a minute: an SMTP back is used soon): never dropped
    park_after: int = 5  # failures after which a message is reported as parked

    @classmethod
    def from_env(cls, env: Mapping[str, str], data_dir: Path) -> MailSettings:
        tls = env.get("AAP_SMTP_TLS", "none").strip().lower() or "none"
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError(f"AAP_SMTP_TLS must be none, starttls or ssl, not {tls!r}")
        default_port = {"none": 25, "starttls": 587, "ssl": 465}[tls]
        return cls(
            smtp_host=env.get("AAP_SMTP_HOST") or None,
            smtp_port=int(env.get("AAP_SMTP_PORT") or default_port),
            smtp_tls=cast(TlsMode, tls),
            smtp_user=env.get("AAP_SMTP_USER") or None,
            smtp_password=env.get("AAP_SMTP_PASSWORD") or None,
            outbox_dir=Path(env.get("AAP_OUTBOX_DIR") or Path(data_dir) / "outbox"),
            retry_base=float(env.get("AAP_NOTIFY_RETRY_BASE", 2.0)),
            retry_cap=float(env.get("AAP_NOTIFY_RETRY_CAP", 60.0)),
            park_after=int(env.get("AAP_NOTIFY_PARK_AFTER", 5)),
        )

    def mailer(self) -> Mailer:
        if self.smtp_host:
            return SmtpMailer(self.smtp_host, self.smtp_port, self.smtp_tls, self.smtp_user, self.smtp_password)
        return OutboxMailer(self.outbox_dir)
