"""Settings: built-in defaults, then a TOML file, then SMARTBCC_* environment, then command-line flags.

The embedded default needs no file at all: SQLite in the user's data folder
(``~/.local/share/smartbcc``, see :func:`default_data_dir`), SMTP on 127.0.0.1:2525.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the setting and what to write instead."""


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the embedded database lives unless ``data_dir`` says otherwise: ``$XDG_DATA_HOME/smartbcc``,
    else ``~/.local/share/smartbcc`` (the XDG base directory for a user's data). The same folder from
    any working folder, so that every command finds the database `smartbcc init` made."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME", "")
    if os.path.isabs(base):      # a relative value is to be ignored (XDG base directory specification)
        return Path(base) / "smartbcc"
    home = environ.get("HOME") or ""
    try:
        root = Path(home) if os.path.isabs(home) else Path.home()
    except RuntimeError:         # no home folder at all: the working folder, as before
        return Path("data").absolute()
    return root / ".local" / "share" / "smartbcc"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)   # SMARTBCC_DATA_DIR; see default_data_dir
    database_url: str = ""            # empty: SQLite file in data_dir
    database_pool_size: int = 10      # PostgreSQL connections kept open per process (as many more on bursts)
    mail_domain: str = "bcc.localhost"
    hostname: str = ""                # name in the greeting and EHLO reply; empty: mail_domain
    host: str = "127.0.0.1"
    port: int = 2525
    max_message_size: int = 20 * 1024 * 1024
    max_recipients: int = 100
    address_grace_days: int = 30
    log_level: str = "INFO"
    # outbound mail (alternate-address confirmations, sending from a record) goes through a smarthost
    smarthost: str = ""               # host or host:port; empty: outbound mail is not configured
    smarthost_starttls: bool = True
    smarthost_username: str = ""
    smarthost_password: str = ""
    outbound_from: str = ""           # empty: "smartbcc@<mail_domain>"
    verification_hours: int = 72
    # anti-spoofing (gateway.auth): "none", "upstream" or "verify"; a company may override both
    antispoof: str = "verify"
    antispoof_policy: str = "default"   # "default": SPF or DKIM must pass; "strict": DMARC-aligned pass
    upstream_authserv_id: str = ""       # upstream mode: the relay whose Authentication-Results count
    upstream_networks: str = ""          # upstream mode: the relay's addresses; other clients get verify's checks
    arc_trusted_sealers: str = ""        # ARC sealer domains whose verdicts count; "*": any valid seal
    dns_resolver: str = ""               # "" = the system's resolver; else "IP" or "IP:port" ("[v6]:port")
    dns_timeout: float = 5.0             # seconds for each DNS look-up
    trusted_networks: str = "127.0.0.0/8,::1"   # clients here skip SPF/DKIM/DMARC (like mynetworks)
    # bounds against abuse and faults (gateway.handlers.limits, gateway.handlers.protocol); see README "Guarantees"
    max_sessions: int = 200              # concurrent SMTP sessions; beyond: 421 4.7.0 and close
    max_sessions_per_client: int = 20    # concurrent sessions from one client IP address
    idle_timeout: float = 300.0          # seconds a client may wait between commands (then 421 4.4.2)
    data_timeout: float = 600.0          # seconds a client may stay silent in DATA; also our bound on filing
    max_commands: int = 1000             # each command at most this often per session (NOOP, RSET...: 50)
    # deadlines a trickle cannot stretch, and errors that cost time (gateway.handlers.limits.SessionLimits)
    data_min_rate: float = 500.0         # bytes/s DATA must average after data_rate_grace (0: no bound)
    data_rate_grace: float = 30.0        # seconds of DATA before data_min_rate counts
    data_max_time: float = 3600.0        # seconds the whole DATA phase may take, however fast
    max_session_time: float = 3600.0     # seconds a session may last (a DATA under way may finish)
    busy_idle_timeout: float = 10.0      # server full: a session without progress this long yields its place
    error_sleep_time: float = 1.0        # seconds each error reply waits beyond soft_error_limit
    soft_error_limit: int = 10           # errors without delivering mail before error replies wait
    hard_error_limit: int = 20           # errors without delivering mail before 421 4.7.0 and a hang-up
    sender_hourly_limit: int = 300       # accepted messages per sender per hour, then 451 4.7.1
    auto_hourly_limit: int = 30          # auto-replies, bounces per sender per hour, then 550 5.4.6 (a loop)
    lock_timeout: float = 5.0            # seconds filing waits for a database lock, then 451 4.3.0
    parse_timeout: float = 5.0           # seconds a parsing process may take on one message, then it is
                                         # replaced and the message filed from a header-only parse
    parse_memory_limit: int = 1024       # MiB of address space of a parsing process (0: no cap)
    tls_cert_file: str = ""              # PEM certificate chain; with tls_key_file, STARTTLS is offered
    tls_key_file: str = ""
    require_tls: bool = False            # refuse MAIL before STARTTLS (530 5.7.0); not for a public MX
    workers: int = 0                     # `smartbcc serve` processes on the one SMTP port; 0: one per core
    shutdown_timeout: float = 30.0       # on stop, seconds transactions under way may take to finish
    notice_interval: float = 300.0       # seconds between the gateway's checks for overdue tasks and the
                                         # daily digest (gateway.services.tasks, .digest); 0: never
    digest_hour: int = 6                 # the hour (UTC, 0-23) from which the gateway mails the day's digests
    # the data of DATA (gateway.handlers.protocol, gateway.handlers.capacity)
    spool_dir: str = ""                  # where large messages are written as they arrive; "": the system's temp folder
    memory_budget: int = 256 * 1024 * 1024   # bytes of message data all sessions together hold in memory
    max_line_length: int = 1024 * 1024   # bytes in one line of message data, CRLF included (commands: 512)
    # monitoring (gateway.ops.monitoring): /metrics, /healthz, /readyz over HTTP; port 0 turns it off
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # the web mailbox (gateway.web): `smartbcc web`; see README "The web mailbox"
    web_host: str = "127.0.0.1"
    web_port: int = 8025
    web_base_path: str = ""              # path prefix behind a reverse proxy, e.g. "/mail"; "" = the root
    web_trusted_proxies: str = ""        # networks whose X-Forwarded-For/-Proto are believed; "" = none
    web_session_hours: float = 168.0     # a sign-in lasts this long (signing out or deactivation ends it)
    web_sign_in_attempts: int = 10       # failed sign-ins per address (and 3x per client) per 15 minutes
    # connected mailboxes (gateway.sync): see README "Connected mailboxes"
    mailbox_key: str = ""                # Fernet key the IMAP passwords are encrypted with; "": the key file
                                         # mailbox.key in data_dir, made on first use (keep it with backups)
    mailbox_sync_minutes: float = 10.0   # sync every this many minutes while the owner is active on the web
    mailbox_first_days: int = 30         # a mailbox's first sync takes the mail of this many days back
    mailbox_timeout: float = 30.0        # seconds an IMAP server may take to answer, then the sync retries later
    mailbox_syncs: int = 2               # mailboxes synced at once by `smartbcc serve`
    # webhooks (gateway.services.webhooks, docs/WEBHOOKS.md): the outbox `smartbcc serve` sends
    webhook_interval: float = 1.0        # seconds between two looks at the outbox; 0: this process sends none
    webhook_timeout: float = 10.0        # seconds an endpoint may take to answer, then the attempt failed
    webhook_retry_first: float = 30.0    # seconds before the first retry; doubling with each attempt...
    webhook_retry_max: float = 3600.0    # ...up to this many between two attempts
    webhook_attempts: int = 30           # attempts in all (about 23 hours with the above), then dead
    webhook_allow_private: bool = False  # allow endpoints on loopback, private and link-local addresses

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'smartbcc.db').resolve()}"

    @property
    def greeting_name(self) -> str:
        return self.hostname or self.mail_domain

    @property
    def sender_address(self) -> str:
        return self.outbound_from or f"smartbcc@{self.mail_domain}"

    @property
    def is_embedded(self) -> bool:
        return not self.database_url

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


# What each setting means, for people: README's settings table is made from this and the defaults above
# (`python -m gateway.config --write-readme`; a test fails when they differ). A value is the meaning, or
# (the default as README shows it, the meaning) where the bare default would not say it.
HELP: dict[str, str | tuple[str, str]] = {
    "data_dir": ("`$XDG_DATA_HOME/smartbcc`, else `~/.local/share/smartbcc`", "where the embedded SQLite "
                 "database (`smartbcc.db`, and `mailbox.key`) lives; only `smartbcc init` creates it"),
    "database_url": ("(SQLite in `data_dir`)", "`postgresql://user@host/db` for PostgreSQL"),
    "database_pool_size": "PostgreSQL connections each process keeps open (as many more in a burst)",
    "mail_domain": "the Bcc mail domain this deployment serves",
    "hostname": ("the mail domain", "the name in the greeting and the EHLO reply"),
    "host": "where SMTP listens (`serve --host`); several addresses comma-separated, e.g. `0.0.0.0,::` for "
            "IPv4 and IPv6 together (then `port` may not be 0)",
    "port": "the SMTP port (`serve --port`; 25 as the MX)",
    "max_message_size": ("20 MiB", "SIZE limit in bytes, counted as transmitted (then `552 5.3.4`)"),
    "max_recipients": "recipients in one transaction (then `452 4.5.3`)",
    "address_grace_days": "how long a company's old address (after `company set-domain` or a new slug) is still "
                          "accepted, then `550 5.1.1`",
    "log_level": "`DEBUG`, `INFO`, `WARNING` or `ERROR`",
    "smarthost": "`host[:port]` (587 unless given; 465: implicit TLS) for outbound mail: confirmations, "
                 "sign-in codes, digests, mail sent from a record",
    "smarthost_starttls": "STARTTLS with the smarthost (its certificate must verify)",
    "smarthost_username": "the smarthost login, when it needs one",
    "smarthost_password": "its password (never printed)",
    "outbound_from": ("`smartbcc@<mail_domain>`", "the From of the mail the gateway writes itself "
                      "(confirmations, sign-in codes, digests)"),
    "verification_hours": "how long an alternate address's confirmation code is good",
    "antispoof": "anti-spoofing: `none`, `upstream` or `verify` (see Anti-spoofing)",
    "antispoof_policy": "`default` (SPF or DKIM must pass) or `strict` (a DMARC-aligned pass)",
    "upstream_authserv_id": "the relay whose Authentication-Results count in `upstream` mode",
    "upstream_networks": "`upstream` mode: the relay's addresses (`192.0.2.10/32,2001:db8::25`); only a client "
                         "connecting from them has its Authentication-Results believed, any other gets the "
                         "`verify` checks; the gateway refuses to start in `upstream` mode without it",
    "arc_trusted_sealers": "ARC sealer domains trusted for forwarded mail; `*` for any",
    "dns_resolver": ("the system's", "`IP` or `IP:port` (`[v6]:port`) of the resolver the checks (and "
                     "`smartbcc doctor`) use"),
    "dns_timeout": "seconds each DNS look-up may take",
    "trusted_networks": "clients that skip the anti-spoofing checks (like an MTA's `mynetworks`)",
    "max_sessions": "concurrent SMTP sessions (then `421 4.7.0`)",
    "max_sessions_per_client": "concurrent sessions from one IP address",
    "idle_timeout": "seconds of silence allowed between commands (then `421 4.4.2`)",
    "data_timeout": "seconds of silence allowed inside DATA; also how long the client waits for the final reply",
    "max_commands": "each command per session (NOOP, HELO, EHLO, VRFY, HELP, STARTTLS: 50; RSET: 50 in a row)",
    "data_min_rate": "bytes a second DATA must average after `data_rate_grace` (0: no bound), then `421 4.4.2`",
    "data_rate_grace": "seconds of DATA before `data_min_rate` counts",
    "data_max_time": "seconds the whole DATA phase may take, however fast (then `421 4.4.2`)",
    "max_session_time": "seconds a session may last; a DATA under way may finish (then `421 4.4.2`)",
    "busy_idle_timeout": "when `max_sessions` is reached, seconds a session without progress keeps its place",
    "error_sleep_time": "seconds each error reply waits beyond `soft_error_limit`",
    "soft_error_limit": "errors in a session before error replies wait",
    "hard_error_limit": "errors in a session before `421 4.7.0` and a hang-up",
    "sender_hourly_limit": "accepted messages per sender per hour (then `451 4.7.1`)",
    "auto_hourly_limit": "automatic messages (auto-replies, bounces) per sender per hour (then `550 5.4.6`)",
    "lock_timeout": "seconds filing waits for a database lock (then `451 4.3.0`)",
    "parse_timeout": "seconds a parsing process may take on one message; then it is replaced and the message "
                     "filed from its headers",
    "parse_memory_limit": "MiB of address space of a parsing process (0: no cap)",
    "tls_cert_file": "PEM certificate chain; with `tls_key_file`, STARTTLS is offered; read again on `SIGHUP`",
    "tls_key_file": "the certificate's PEM private key",
    "require_tls": "refuse MAIL before STARTTLS (`530 5.7.0`); needs a certificate; not for a public MX",
    "workers": ("0 (one per core)", "serving processes of `smartbcc serve` on the one SMTP port (`serve --workers "
                "N`; 1: a single process); see Workers under Limits and loops"),
    "shutdown_timeout": "on `SIGTERM`, seconds transactions under way may take to finish",
    "notice_interval": "seconds between the gateway's checks for overdue tasks and due digests (0: never)",
    "digest_hour": "the hour (UTC, 0-23) from which the gateway mails the day's digests",
    "spool_dir": ("the system's temporary folder", "where messages over 64 KiB are written for parsing and over "
                  "1 MiB while they arrive; its free space is checked at MAIL"),
    "memory_budget": ("256 MiB", "bytes of message data all sessions hold in memory together; at least twice "
                      "`max_message_size`"),
    "max_line_length": ("1 MiB", "bytes in one line of message data, CRLF included (at least 1000)"),
    "metrics_host": "where `/metrics`, `/healthz` and `/readyz` are served",
    "metrics_port": ("0 (off)", "their port (`serve --metrics-port`)"),
    "web_host": "where `smartbcc web` serves the web mailbox and `/api/v1` (`web --host`); several addresses "
                "comma-separated, as for `host`",
    "web_port": "its port (`web --port`)",
    "web_base_path": "a path prefix behind a reverse proxy (`/mail`): routes, links and the cookie's path use it",
    "web_trusted_proxies": "networks whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed",
    "web_session_hours": "how long a sign-in lasts (signing out or deactivation ends it sooner)",
    "web_sign_in_attempts": "failed sign-ins per address in 15 minutes (three times that per client address), "
                            "then refused",
    "mailbox_key": ("(the key file `mailbox.key` in `data_dir`)", "the Fernet key connected mailboxes' "
                    "passwords are encrypted with; set it (the same on every process) when several processes "
                    "share one database"),
    "mailbox_sync_minutes": "connected mailboxes are synced this often while their owner is active on the web",
    "mailbox_first_days": "a connected mailbox's first sync takes the mail of this many days back",
    "mailbox_timeout": "seconds an IMAP server may take to answer; then the sync stops and resumes a minute later",
    "mailbox_syncs": "connected mailboxes `smartbcc serve` syncs at once",
    "webhook_interval": "seconds between `smartbcc serve`'s looks at the webhook outbox (0: this process sends "
                        "none)",
    "webhook_timeout": "seconds an endpoint may take to answer; then the attempt failed",
    "webhook_retry_first": "seconds before a delivery's first retry, doubling with each attempt (20 % jitter)...",
    "webhook_retry_max": "...up to this many seconds between two attempts",
    "webhook_attempts": "attempts of a delivery in all (about 23 hours), then it is dead until "
                        "`smartbcc webhook replay`",
    "webhook_allow_private": "allow webhook endpoints on this machine and on private, link-local or other "
                             "non-public addresses",
}

_FIELDS = {f.name: f for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELDS[name].type
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"setting {name!r} must be true or false, not {value!r}")
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "Path":
            return Path(str(value)).expanduser()
    except (TypeError, ValueError):
        what = "a number" if kind == "float" else "a whole number"
        raise ConfigError(f"setting {name!r} must be {what}, not {value!r}") from None
    if not isinstance(value, str):
        raise ConfigError(f"setting {name!r} must be text, not {value!r}")
    return value


def _from_mapping(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_").lower()
        if name not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise ConfigError(f"{origin}: unknown setting {key!r} (known settings: {known})")
        out[name] = _coerce(name, value)
    return out


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from the layers, later layers winning; None values in overrides are skipped."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = config_file or environ.get("SMARTBCC_CONFIG") or None
    if config_file:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
        values.update(_from_mapping(data.get("smartbcc", data), str(path)))
    env = {k[len("SMARTBCC_"):]: v for k, v in environ.items()
           if k.startswith("SMARTBCC_") and k != "SMARTBCC_CONFIG" and not k.startswith("SMARTBCC_TEST_")}
    values.update(_from_mapping(env, "environment"))
    if overrides:
        values.update(_from_mapping({k: v for k, v in overrides.items() if v is not None}, "option"))
    values.setdefault("data_dir", default_data_dir(environ))
    settings = Settings(**values)
    if settings.max_message_size <= 0 or settings.max_recipients <= 0:
        raise ConfigError("max_message_size and max_recipients must be above zero")
    if not 0 <= settings.port <= 65535:
        raise ConfigError(f"port {settings.port} is outside 0-65535")
    if settings.port == 0 and len(listen_hosts(settings.host)) > 1:
        raise ConfigError(f"host {settings.host!r} names several addresses: give them one port (not 0)")
    if not 0 <= settings.metrics_port <= 65535:
        raise ConfigError(f"metrics_port {settings.metrics_port} is outside 0-65535 (0 turns metrics off)")
    check_web(settings)
    check_mailboxes(settings)
    check_webhooks(settings)
    check_antispoof(settings)
    check_limits(settings)
    return settings


def check_limits(settings: Settings) -> None:
    """Raise ConfigError naming the limit or TLS setting that cannot be used."""
    for name in ("max_sessions", "max_sessions_per_client", "idle_timeout", "data_timeout", "max_commands",
                 "sender_hourly_limit", "auto_hourly_limit", "lock_timeout", "shutdown_timeout",
                 "database_pool_size"):
        if not getattr(settings, name) > 0:
            raise ConfigError(f"{name} must be above zero, not {getattr(settings, name)!r}")
    if settings.workers < 0:
        raise ConfigError(f"workers must be 0 (one per core) or more, not {settings.workers!r}")
    if not 0 <= settings.digest_hour <= 23:
        raise ConfigError(f"digest_hour is an hour of the day (UTC) from 0 to 23, not {settings.digest_hour!r}")
    if settings.notice_interval < 0:
        raise ConfigError(f"notice_interval must be zero (never) or more, not {settings.notice_interval!r}")
    if not settings.parse_timeout > 0 or settings.parse_memory_limit < 0:
        raise ConfigError("parse_timeout must be above zero and parse_memory_limit (MiB) zero or more")
    if settings.memory_budget < 2 * settings.max_message_size:
        raise ConfigError(f"memory_budget ({settings.memory_budget}) must be at least twice max_message_size "
                          f"({settings.max_message_size}): a message is held whole, and counted twice, while it "
                          f"is filed")
    if settings.max_line_length < 1000:
        raise ConfigError(f"max_line_length must be at least 1000 (RFC 5321 4.5.3.1.6), "
                          f"not {settings.max_line_length!r}")
    for name in ("data_max_time", "max_session_time", "busy_idle_timeout", "hard_error_limit"):
        if not getattr(settings, name) > 0:
            raise ConfigError(f"{name} must be above zero, not {getattr(settings, name)!r}")
    for name in ("data_min_rate", "data_rate_grace", "error_sleep_time", "soft_error_limit"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{name} must be zero or more, not {getattr(settings, name)!r}")
    if bool(settings.tls_cert_file) != bool(settings.tls_key_file):
        raise ConfigError("STARTTLS needs both tls_cert_file and tls_key_file (PEM files), or neither")
    if settings.require_tls and not settings.tls_cert_file:
        raise ConfigError("require_tls needs a certificate: set tls_cert_file and tls_key_file, "
                          "or turn require_tls off")


def check_webhooks(settings: Settings) -> None:
    """Raise ConfigError naming the webhook setting that cannot be used."""
    for name in ("webhook_timeout", "webhook_retry_first", "webhook_retry_max", "webhook_attempts"):
        if not getattr(settings, name) > 0:
            raise ConfigError(f"{name} must be above zero, not {getattr(settings, name)!r}")
    if settings.webhook_interval < 0:
        raise ConfigError(f"webhook_interval must be zero (send none) or more, not {settings.webhook_interval!r}")


def check_mailboxes(settings: Settings) -> None:
    """Raise ConfigError naming the connected-mailbox setting that cannot be used."""
    for name in ("mailbox_sync_minutes", "mailbox_timeout", "mailbox_first_days", "mailbox_syncs"):
        if not getattr(settings, name) > 0:
            raise ConfigError(f"{name} must be above zero, not {getattr(settings, name)!r}")


def check_web(settings: Settings) -> None:
    """Raise ConfigError naming the web mailbox setting that cannot be used."""
    if not 0 <= settings.web_port <= 65535:
        raise ConfigError(f"web_port {settings.web_port} is outside 0-65535")
    if settings.web_port == 0 and len(listen_hosts(settings.web_host)) > 1:
        raise ConfigError(f"web_host {settings.web_host!r} names several addresses: give them one web_port (not 0)")
    base = settings.web_base_path
    if base and (not base.startswith("/") or base.endswith("/") or any(c in base for c in "?#% ")):
        raise ConfigError(f"web_base_path must start with / and not end with one (e.g. /mail), not {base!r}")
    if not settings.web_session_hours > 0 or not settings.web_sign_in_attempts > 0:
        raise ConfigError("web_session_hours and web_sign_in_attempts must be above zero")
    try:
        networks(settings.web_trusted_proxies)
    except ConfigError as error:
        raise ConfigError(str(error).replace("trusted_networks", "web_trusted_proxies")) from None


ANTISPOOF_MODES = ("none", "upstream", "verify")
ANTISPOOF_POLICIES = ("default", "strict")


def check_antispoof(settings: Settings) -> None:
    """Raise ConfigError naming the anti-spoofing setting that cannot be used."""
    if settings.antispoof not in ANTISPOOF_MODES:
        raise ConfigError(f"antispoof must be one of {', '.join(ANTISPOOF_MODES)}, not {settings.antispoof!r}")
    if settings.antispoof_policy not in ANTISPOOF_POLICIES:
        raise ConfigError(f"antispoof_policy must be default or strict, not {settings.antispoof_policy!r}")
    if settings.antispoof == "upstream" and not settings.upstream_authserv_id.strip():
        raise ConfigError("antispoof = upstream needs upstream_authserv_id: the authserv-id your relay writes "
                          "in its Authentication-Results header (e.g. mx.example.com)")
    if settings.antispoof == "upstream" and not networks(settings.upstream_networks, "upstream_networks"):
        raise ConfigError("antispoof = upstream needs upstream_networks: the addresses your relay connects from "
                          "(e.g. 192.0.2.10/32); Authentication-Results are believed only from them")
    if not settings.dns_timeout > 0:
        raise ConfigError(f"dns_timeout must be above zero seconds, not {settings.dns_timeout!r}")
    dns_server(settings.dns_resolver)
    networks(settings.trusted_networks)
    networks(settings.upstream_networks, "upstream_networks")


def listen_hosts(text: str) -> list[str]:
    """The addresses in ``host`` (``127.0.0.1``, ``0.0.0.0,::`` for IPv4 and IPv6 together); "" is every
    address of both families, as asyncio reads it."""
    hosts = [item.strip() for item in text.split(",") if item.strip()]
    return hosts or [""]


def host_and_port(text: str) -> tuple[str, str | None]:
    """``HOST``, ``HOST:PORT`` or ``[v6]`` / ``[v6]:PORT`` -> (host, the port as written, None when none);
    an IPv6 address without brackets is all host."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    return text, None


def dns_server(text: str) -> tuple[str, int] | None:
    """``""`` -> None (the system's resolver); ``"IP"``, ``"IP:port"``, ``"[v6]:port"`` -> (ip, port)."""
    text = text.strip()
    if not text:
        return None
    host, port = host_and_port(text)
    try:
        return str(ipaddress.ip_address(host)), int("53" if port is None else port)
    except ValueError:
        raise ConfigError(f"dns_resolver must be an IP address with an optional port (127.0.0.1:5353, "
                          f"[::1]:53), not {text!r}") from None


def networks(
    text: str, setting: str = "trusted_networks",
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A comma-separated list of networks (``127.0.0.0/8,::1``); empty means none. ``setting`` names
    the setting in the error."""
    out = []
    for item in text.replace(" ", ",").split(","):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{setting}: {item!r} is not a network (write e.g. 10.0.0.0/8)") from None
    return tuple(out)


README_START = "<!-- settings table: made by `python -m gateway.config --write-readme` from gateway/config.py -->"
README_END = "<!-- end of the settings table -->"


def _shown_default(name: str) -> str:
    help = HELP[name]
    if isinstance(help, tuple):
        return help[0]
    value = _FIELDS[name].default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return f"`{value}`" if str(value) else "(none)"


def settings_table() -> str:
    """README's settings table, in Markdown: one row per field of Settings, in their order."""
    missing = [name for name in _FIELDS if name not in HELP]
    if missing:
        raise ConfigError(f"settings without an entry in gateway.config.HELP: {', '.join(missing)}")
    rows = ["| setting | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for name in _FIELDS:
        help = HELP[name]
        meaning = (help[1] if isinstance(help, tuple) else help).replace("|", "\\|")
        rows.append(f"| `{name}` | `SMARTBCC_{name.upper()}` | {_shown_default(name)} | {meaning} |")
    return "\n".join(rows) + "\n"


def readme_with_table(readme: str) -> str:
    """``readme`` with the text between its settings-table markers replaced by :func:`settings_table`."""
    head, start, rest = readme.partition(README_START)
    _old, end, tail = rest.partition(README_END)
    if not start or not end:
        raise ConfigError(f"the README has no settings table markers ({README_START} ... {README_END})")
    return f"{head}{start}\n{settings_table()}{end}{tail}"


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gateway.config",
                                     description="Print or write README's settings table.")
    parser.add_argument("--markdown", action="store_true", help="print the settings table")
    parser.add_argument("--write-readme", metavar="README", nargs="?", const="README.md",
                        help="rewrite the table in README (default README.md)")
    options = parser.parse_args(argv)
    if options.write_readme:
        path = Path(options.write_readme)
        path.write_text(readme_with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    if options.markdown or not options.write_readme:
        print(settings_table(), end="")


if __name__ == "__main__":
    main()
