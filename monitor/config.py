"""Load and validate the one TOML config file.

Every problem is reported at once as a `ConfigError` naming the file, the key and what is wrong;
secret values never appear in any message.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, create_model, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from rules import RULES

DEFAULT_BASE_URL = "https://api-seller.ozon.ru"


class ConfigError(Exception):
    """The config cannot be used; the message says where and how to fix it."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MonitorSection(Strict):
    state_dir: Path = Path("state")
    timezone: str = "Europe/Moscow"
    language: Literal["ru", "en"] = "ru"
    poll_minutes: int = Field(10, ge=1, le=1440)
    history_days: int = Field(60, ge=7, le=365)
    overlap_minutes: int = Field(120, ge=0, le=10080)
    analytics_refresh_minutes: int = Field(60, ge=1, le=1440)

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; expected an IANA name such as Europe/Moscow") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Account(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    client_id: int = Field(gt=0)
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    api_key_file: Path | None = None
    base_url: str = Field(DEFAULT_BASE_URL, pattern=r"^https?://[^\s/]+")
    timeout_seconds: float = Field(30.0, gt=0, le=300)

    def secret(self) -> SecretStr:
        """Given the account's key source, return the key; raise ValueError naming the source if absent."""
        sources = [s for s in ("api_key", "api_key_env", "api_key_file") if getattr(self, s) is not None]
        if len(sources) != 1:
            raise ValueError("set exactly one of api_key_file, api_key_env or api_key (found "
                             f"{', '.join(sources) or 'none'})")
        if self.api_key is not None:
            return self.api_key
        return SecretStr(read_secret(self.api_key_env, self.api_key_file, "api_key"))


def key_file_path(config_path: Path, value: Path) -> Path:
    """A bare file name found in systemd's $CREDENTIALS_DIRECTORY (LoadCredential=) is taken from
    there, so the unit file needs no path to the key; anything else is relative to the config."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and len(value.parts) == 1 and (Path(creds) / value).exists():
        return Path(creds) / value
    return _resolve(config_path, value)


def read_secret(env: str | None, file: Path | None, what: str) -> str | None:
    """A secret from an environment variable or a file (None when neither is set); raise
    ValueError naming the source when it is set but unreadable."""
    if env is not None:
        value = os.environ.get(env, "")
        if not value:
            raise ValueError(f"{what}_env: environment variable {env} is not set or empty")
        return value
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"{what}_file: cannot read {file}: {exc.strerror}") from None
        if not value:
            raise ValueError(f"{what}_file: {file} is empty")
        return value
    return None


class ChannelBase(Strict):
    name: str = Field("", pattern=r"^[A-Za-z0-9_.-]*$")
    min_severity: Literal["warning", "critical"] = "warning"
    notify_resolved: bool = True


class FileChannel(ChannelBase):
    """Appends each notification to `notifications.jsonl` in a directory and writes its text."""

    type: Literal["file"]
    directory: Path = Path("notifications")


class EmailChannel(ChannelBase):
    """SMTP: STARTTLS (587), implicit TLS (465) or plain (a local relay)."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int | None = Field(None, gt=0, lt=65536)
    security: Literal["starttls", "tls", "plain"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[str] = Field(min_length=1)
    timeout_seconds: float = Field(30.0, gt=0, le=300)

    @field_validator("to")
    @classmethod
    def addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a or " " in a.strip()]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(bad)}")
        return value

    @property
    def smtp_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "plain": 25}[self.security]

    def password(self) -> str | None:
        return read_secret(self.password_env, self.password_file, "password")


class WebhookChannel(ChannelBase):
    """HTTP POST of each message: our JSON (signed per Standard Webhooks when a secret is set),
    or a preset for Slack, Telegram or Alertmanager receivers."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://[^\s/]+")
    format: Literal["json", "slack", "telegram", "alertmanager"] = "json"
    secret_env: str | None = None  # json: the signing secret ("whsec_..."); telegram: the bot token
    secret_file: Path | None = None
    chat_id: str | None = None  # telegram only
    proxy: str | None = None
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    def secret(self) -> str | None:
        return read_secret(self.secret_env, self.secret_file, "secret")


Channel = Annotated[FileChannel | EmailChannel | WebhookChannel, Field(discriminator="type")]


class RuleAlerting(Strict):
    repeat_hours: float | None = Field(None, gt=0)
    notify_resolved: bool | None = None


class AlertsSection(Strict):
    """How alerts turn into notifications."""

    repeat_hours: float = Field(24.0, gt=0, le=720)  # re-send an open alert after this long ...
    max_repeat_hours: float = Field(168.0, gt=0, le=2160)  # ... doubling the wait up to this
    notify_resolved: bool = True
    group_wait_minutes: float = Field(0.0, ge=0, le=720)  # hold non-critical digests so later findings join them
    quiet_hours: str = Field("", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
    delivery_retry_hours: float = Field(24.0, gt=0, le=168)
    rules: dict[str, RuleAlerting] = {}

    @field_validator("rules")
    @classmethod
    def known_rules(cls, value: dict[str, RuleAlerting]) -> dict[str, RuleAlerting]:
        unknown = sorted(set(value) - set(RULES))
        if unknown:
            raise ValueError(f"unknown rule {', '.join(unknown)}; valid rules: {', '.join(sorted(RULES))}")
        return value

RulesSection = create_model(  # type: ignore[call-overload]
    "RulesSection",
    __config__=ConfigDict(extra="forbid"),
    **{name: (rule.Config, rule.Config()) for name, rule in RULES.items()},
)


class Settings(BaseSettings):
    """The whole config; environment variables OZON_MONITOR_<SECTION>__<KEY> override the file."""

    model_config = SettingsConfigDict(env_prefix="OZON_MONITOR_", env_nested_delimiter="__", extra="forbid")

    monitor: MonitorSection = MonitorSection()
    accounts: list[Account] = Field(min_length=1)
    rules: RulesSection = RulesSection()  # type: ignore[valid-type]
    alerts: AlertsSection = AlertsSection()
    channels: list[Channel] = []

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings

    def account(self, name: str) -> Account:
        return next(a for a in self.accounts if a.name == name)


def load_config(path: str | Path, *, require_secrets: bool = True) -> Settings:
    """Given a TOML file, return validated settings with relative paths resolved against the
    file's folder and (with `require_secrets`) every API key readable; raise ConfigError listing
    every problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError("\n".join(f"{path}: {_describe(err)}" for err in exc.errors())) from None

    problems = []
    names = [a.name for a in settings.accounts]
    for index, account in enumerate(settings.accounts):
        if names.count(account.name) > 1:
            problems.append(f"accounts[{index}].name: {account.name!r} is used by more than one account")
        if account.api_key_file is not None:
            account.api_key_file = key_file_path(path, account.api_key_file)
    for index, channel in enumerate(settings.channels):
        same_type_before = sum(c.type == channel.type for c in settings.channels[:index])
        channel.name = channel.name or (channel.type if not same_type_before else f"{channel.type}-{index}")
    channel_names = [c.name for c in settings.channels]
    for index, channel in enumerate(settings.channels):
        if channel_names.count(channel.name) > 1:
            problems.append(f"channels[{index}].name: {channel.name!r} is used by more than one channel")
        if isinstance(channel, FileChannel):
            channel.directory = _resolve(path, channel.directory)
        if isinstance(channel, WebhookChannel) and channel.format == "telegram" and not channel.chat_id:
            problems.append(f"channels[{index}].chat_id: required for format = \"telegram\"")
        for attr in ("password_file", "secret_file"):
            if getattr(channel, attr, None) is not None:
                setattr(channel, attr, key_file_path(path, getattr(channel, attr)))
    if require_secrets:
        problems += secret_problems(settings)
    if problems:
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems))
    settings.monitor.state_dir = _resolve(path, settings.monitor.state_dir)
    return settings


def secret_problems(settings: Settings) -> list[str]:
    """Why each API key, SMTP password or webhook secret cannot be read here, one line each."""
    problems = []
    for index, account in enumerate(settings.accounts):
        try:
            account.secret()
        except ValueError as exc:
            problems.append(f"accounts[{index}] ({account.name}): {exc}")
    for index, channel in enumerate(settings.channels):
        try:
            secret = channel.password() if isinstance(channel, EmailChannel) else \
                channel.secret() if isinstance(channel, WebhookChannel) else None
        except ValueError as exc:
            problems.append(f"channels[{index}] ({channel.name}): {exc}")
            continue
        if isinstance(channel, WebhookChannel) and channel.format == "telegram" and secret is None:
            problems.append(f"channels[{index}] ({channel.name}): the bot token is missing: set secret_env or "
                            f"secret_file")
    return problems


def _resolve(config_path: Path, value: Path) -> Path:
    value = value.expanduser()
    return value if value.is_absolute() else (config_path.parent / value).resolve()


def _describe(err: dict[str, Any]) -> str:
    """One pydantic error as `key.path: message`, never echoing the input (it may be a secret)."""
    if len(err["loc"]) > 2 and err["loc"][0] == "channels" and err["loc"][2] in ("file", "email", "webhook"):
        err = {**err, "loc": err["loc"][:2] + err["loc"][3:]}  # drop the union tag pydantic adds
    loc = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in err["loc"]).lstrip(".")
    if err["type"] == "extra_forbidden":
        parent = err["loc"][:-1]
        if parent == ("rules",):
            return f"{loc}: unknown rule; valid rules: {', '.join(sorted(RULES))}"
        return f"{loc}: unknown key (check the spelling against config.example.toml)"
    if err["type"] == "missing":
        return f"{loc}: required key is missing"
    if err["type"] == "union_tag_invalid" or (err["loc"] and err["loc"][-1] == "type" and "channels" in err["loc"]):
        return f"{loc}: unsupported channel type; valid types: email, file, webhook"
    return f"{loc or '(top level)'}: {err['msg'].removeprefix('Value error, ')}"
