"""What every config model shares: strict, frozen models; secrets read from an environment
variable, a file or a systemd credential, never echoed; relative paths resolved against the
config file's folder while it is being validated."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from monitor import logs
from monitor.texts import Said

_CONFIG_DIR: ContextVar[Path | None] = ContextVar("config_dir", default=None)


# The forms of config values that other modules check too; monitor/config.py says each to the seller.
NAME = r"^[A-Za-z0-9_.-]+$"
NAME_OR_EMPTY = r"^[A-Za-z0-9_.-]*$"
URL = r"^https?://[^\s/]+"
EMAIL = r"^[^@\s]+@[^@\s]+$"


class Strict(BaseModel):
    """Unknown keys are errors; nothing changes after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@contextmanager
def config_dir(folder: Path) -> Iterator[None]:
    """Resolve relative paths against `folder` while a config is validated."""
    token = _CONFIG_DIR.set(folder)
    try:
        yield
    finally:
        _CONFIG_DIR.reset(token)


def resolve(value: Path) -> Path:
    """A path from the config: `~` expanded, relative to the config file's folder."""
    value = value.expanduser()
    folder = _CONFIG_DIR.get()
    return value if value.is_absolute() or folder is None else (folder / value).resolve()


def secret_path(value: Path) -> Path:
    """A bare file name found in systemd's $CREDENTIALS_DIRECTORY (LoadCredential=) is taken from
    there, so the unit file needs no path to the key; anything else is relative to the config."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and len(value.parts) == 1 and (Path(creds) / value).exists():
        return Path(creds) / value
    return resolve(value)


def os_error(exc: OSError) -> Said:
    """Why a file cannot be used, in the seller's words where the cause is a common one."""
    if isinstance(exc, FileNotFoundError):
        return Said("os.missing")
    if isinstance(exc, PermissionError):
        return Said("os.denied")
    if isinstance(exc, (NotADirectoryError, FileExistsError)):  # a folder was wanted where a file is
        return Said("os.not_a_folder")
    if isinstance(exc, IsADirectoryError):
        return Said("os.a_folder")
    return Said("os.other", error=exc.strerror or type(exc).__name__)


def read_secret(env: str | None, file: Path | None, what: str, *, token: bool = True) -> str | None:
    """A secret from an environment variable or a file (None when neither is set), without the
    byte-order mark and the line ends a Windows editor or `echo` adds; raise ValueError naming
    the source when it is set but unreadable, empty, or more than one line, or (a `token`: a key
    sent in a header or a URL) not printable ASCII without spaces; never quoting the secret."""
    if env is not None:
        where, value = f"{what}_env: {env}", os.environ.get(env, "")
    elif file is not None:
        where = f"{what}_file: {file}"
        try:
            value = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise Said("secret.unreadable", where=where, why=os_error(exc)) from None
        except UnicodeDecodeError:
            raise Said("secret.not_text", where=where) from None
    else:
        return None
    value = value.strip().removeprefix("\ufeff").strip()
    if not value:
        raise Said("secret.env_empty" if env is not None else "secret.file_empty", where=where)
    if not value.isprintable():
        raise Said("secret.lines", where=where)
    if token and (not value.isascii() or any(c.isspace() for c in value)):
        raise Said("secret.not_a_token", where=where)
    logs.hide(value)
    return value
