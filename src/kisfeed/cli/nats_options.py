"""The NATS options of every command that reaches the fleet (``kisfeed fleet ...``, ``record
--from``, ``watch --from``): one definition (issue 17, item 5), each falling back to its
``KISFEED_NATS_*`` variable (``fleet.options``). A password or token given here joins the log
redaction before anything can log it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .common import redact

if TYPE_CHECKING:
    from ..fleet.options import NatsOptions

__all__ = [
    "NatsUser",
    "NatsPassword",
    "NatsToken",
    "NatsCreds",
    "NatsNkey",
    "TlsCa",
    "TlsCert",
    "TlsKey",
    "ConnectTimeout",
    "nats_options",
]

_PANEL = "NATS"

NatsUser = Annotated[
    str | None,
    typer.Option("--nats-user", help="NATS user (default: KISFEED_NATS_USER).", rich_help_panel=_PANEL),
]
NatsPassword = Annotated[
    str | None,
    typer.Option(
        "--nats-password",
        help="NATS password (default: KISFEED_NATS_PASSWORD, which keeps it out of the process list).",
        show_default=False,
        rich_help_panel=_PANEL,
    ),
]
NatsToken = Annotated[
    str | None,
    typer.Option(
        "--nats-token",
        help="NATS token (default: KISFEED_NATS_TOKEN).",
        show_default=False,
        rich_help_panel=_PANEL,
    ),
]
NatsCreds = Annotated[
    Path | None,
    typer.Option(
        "--nats-creds",
        help="A .creds file, JWT and nkey (default: KISFEED_NATS_CREDS).",
        rich_help_panel=_PANEL,
    ),
]
NatsNkey = Annotated[
    Path | None,
    typer.Option(
        "--nats-nkey", help="An nkey seed file (default: KISFEED_NATS_NKEY).", rich_help_panel=_PANEL
    ),
]
TlsCa = Annotated[
    Path | None,
    typer.Option("--tls-ca", help="CA file to trust (default: KISFEED_NATS_CA).", rich_help_panel=_PANEL),
]
TlsCert = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert", help="Client certificate (default: KISFEED_NATS_CERT).", rich_help_panel=_PANEL
    ),
]
TlsKey = Annotated[
    Path | None,
    typer.Option(
        "--tls-key", help="Client certificate's key (default: KISFEED_NATS_KEY).", rich_help_panel=_PANEL
    ),
]
ConnectTimeout = Annotated[
    float,
    typer.Option(
        help="Seconds to reach the NATS server at start (an error after them); then it reconnects for ever.",
        rich_help_panel=_PANEL,
    ),
]


def nats_options(
    url: str | None,
    *,
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
    creds: Path | None = None,
    nkey: Path | None = None,
    tls_ca: Path | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> NatsOptions:
    """``NatsOptions`` from the command line, each one not given from its environment variable;
    ``ConfigError`` (exit 2) for a bad URL or an incomplete setting."""
    from ..fleet.options import NatsOptions

    options = NatsOptions.from_env(
        url=url,
        user=user,
        password=password,
        token=token,
        creds=creds,
        nkey_seed=nkey,
        tls_ca=tls_ca,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )
    redact.secrets.update(s for s in (options.password, options.token) if s)
    return options
