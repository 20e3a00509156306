"""The passwords of connected mailboxes, encrypted at rest (Fernet: AES-128-CBC with an HMAC-SHA256).

The key is the ``mailbox_key`` setting, or else the file ``mailbox.key`` in the data folder, made (mode
0600) on first use: the database alone does not reveal a password. Lose the key and the mailboxes must be
connected again; keep it with the backups, apart from the database's.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from gateway.config import ConfigError, Settings
from gateway.services.errors import ServiceError

KEY_FILE = "mailbox.key"


def _key(settings: Settings) -> bytes:
    if settings.mailbox_key:
        return settings.mailbox_key.encode()
    path = Path(settings.data_dir) / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:          # another process made it meanwhile
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as out:
        out.write(key + b"\n")
    return key


def _fernet(settings: Settings) -> Fernet:
    try:
        return Fernet(_key(settings))
    except ValueError:
        raise ConfigError("mailbox_key (or data_dir/mailbox.key) is not a Fernet key: 32 bytes in url-safe "
                          "base64, as `python -c 'from cryptography.fernet import Fernet; "
                          "print(Fernet.generate_key().decode())'` prints") from None


def seal(settings: Settings, secret: str) -> str:
    return _fernet(settings).encrypt(secret.encode()).decode()


def unseal(settings: Settings, sealed: str) -> str:
    try:
        return _fernet(settings).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise ServiceError("the mailbox password cannot be decrypted with this mailbox_key: "
                           "connect the mailbox again") from None
