"""Load and validate the one TOML config file.

Every problem is reported at once as a `ConfigError` naming the file, the key and what is wrong;
secret values never appear in any message.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, create_model, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor.channels import CHANNELS, AnyChannelConfig, EmailConfig, FileConfig, TelegramConfig, WebhookConfig
from monitor.channels.telegram import from_webhook
from monitor import logs
from monitor.i18n import LANGUAGES
from monitor.secrets import EMAIL, NAME, NAME_OR_EMPTY, URL, Strict, config_dir, os_error, read_secret, resolve, secret_path
from monitor.texts import Said
from rules import RULES
from rules.base import Keyed, RuleConfig

DEFAULT_BASE_URL = "https://api-seller.ozon.ru"
CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"
HOURS = r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
LISTEN = r"^$|^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$"
# Which form a value must take, in the seller's words, by the pattern it failed.
FORMS = {NAME: "config.form_name", NAME_OR_EMPTY: "config.form_name", URL: "config.url", EMAIL: "config.form_email",
         CLOCK: "config.form_clock", HOURS: "config.form_hours", LISTEN: "config.form_listen"}


class ConfigError(Exception):
    """The config cannot be used: every problem, each naming the file and the key, in the
    seller's language by `text()`; `str()` is English."""

    def __init__(self, problems: list[Said]) -> None:
        super().__init__(problems)
        self.problems = problems

    def text(self, language: str) -> str:
        return "\n".join(problem.text(language) for problem in self.problems)

    def __str__(self) -> str:
        return self.text("en")


class MonitorSection(Strict):
    state_dir: Path = Field(Path("state"), validate_default=True)
    timezone: str = "Europe/Moscow"
    language: str = "ru"  # a code of monitor/i18n LANGUAGES
    poll_minutes: int = Field(10, ge=1, le=1440)
    history_days: int = Field(60, ge=7, le=365)
    overlap_minutes: int = Field(10, ge=0, le=10080)
    analytics_refresh_minutes: int = Field(60, ge=1, le=1440)
    cycle_budget_seconds: float = Field(90.0, ge=10, le=3600)
    blind_after_minutes: float = Field(180.0, ge=10, le=10080)
    keep_raw_days: int = Field(180, ge=30, le=3650)
    keep_alerts_days: int = Field(730, ge=30, le=3650)
    metrics_listen: str = Field("", pattern=LISTEN)

    _state_dir = field_validator("state_dir")(lambda value: resolve(value))

    @field_validator("language")
    @classmethod
    def known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise Said("config.unknown_language", valid=", ".join(LANGUAGES))  # a value is never echoed: it may be a key
        return value

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise Said("config.unknown_timezone") from None
        return value

    @model_validator(mode="after")
    def keeps_the_history_it_pulls(self) -> MonitorSection:
        if self.keep_raw_days < self.history_days:
            raise Said("config.keep_raw_days", keep=self.keep_raw_days, history=self.history_days)
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Account(Strict):
    name: str = Field(min_length=1, pattern=NAME)
    client_id: int = Field(gt=0)
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    api_key_file: Path | None = None
    base_url: str = Field(DEFAULT_BASE_URL, pattern=URL)
    timeout_seconds: float = Field(30.0, gt=0, le=300)
    poll_minutes: int | None = Field(None, ge=1, le=1440)  # this account's own interval; default [monitor]'s

    _key_file = field_validator("api_key_file")(lambda value: secret_path(value) if value is not None else None)

    def secret(self) -> SecretStr:
        """Given the account's key source, return the key; raise ValueError naming the source if absent."""
        sources = [s for s in ("api_key", "api_key_env", "api_key_file") if getattr(self, s) is not None]
        if len(sources) != 1:
            raise Said("config.one_key_source", found=", ".join(sources) or "-")
        if self.api_key is not None:
            logs.hide(self.api_key.get_secret_value())
            return self.api_key
        return SecretStr(read_secret(self.api_key_env, self.api_key_file, "api_key") or "")


class DigestSection(Strict):
    """The daily (or weekly, on Mondays) summary per shop, at `at` in the seller's timezone."""

    every: Literal["off", "daily", "weekly"] = "daily"
    at: str = Field("09:00", pattern=CLOCK)
    channels: list[str] = []  # empty: every channel


class RuleAlerting(Strict):
    repeat_hours: float | None = Field(None, gt=0)
    notify_resolved: bool | None = None


class AlertsSection(Strict):
    """How alerts turn into notifications."""

    repeat_hours: float = Field(24.0, gt=0, le=720)  # re-send an open alert after this long ...
    max_repeat_hours: float = Field(168.0, gt=0, le=2160)  # ... doubling the wait up to this
    notify_resolved: bool = True
    resolve_after_minutes: float = Field(60.0, ge=0, le=10080)  # clear this long before "resolved"
    group_wait_minutes: float = Field(0.0, ge=0, le=720)  # hold non-critical digests so later findings join them
    quiet_hours: str = Field("", pattern=HOURS)
    delivery_retry_hours: float = Field(24.0, gt=0, le=168)
    undeliverable_after_minutes: float = Field(60.0, ge=1, le=10080)
    max_alerts_per_message: int = Field(10, ge=1, le=100)  # the rest are counted, listed by `alerts list`
    rules: dict[str, RuleAlerting] = {}

    @field_validator("rules")
    @classmethod
    def known_rules(cls, value: dict[str, RuleAlerting]) -> dict[str, RuleAlerting]:
        unknown = sorted(set(value) - set(RULES))
        if unknown:
            raise Said("config.unknown_rule", rule=", ".join(unknown), valid=", ".join(sorted(RULES)))
        return value

if TYPE_CHECKING:  # one field per rule, made from the registry at run time
    class RulesSection(BaseModel):
        def __getattr__(self, name: str) -> RuleConfig: ...
else:
    RulesSection = create_model(
        "RulesSection",
        __config__=ConfigDict(extra="forbid"),
        **{name: (rule.Config, rule.Config()) for name, rule in RULES.items()},
    )


class Settings(BaseSettings):
    """The whole config; environment variables OZON_MONITOR_<SECTION>__<KEY> override the file."""

    model_config = SettingsConfigDict(env_prefix="OZON_MONITOR_", env_nested_delimiter="__", extra="forbid",
                                      frozen=True)

    monitor: MonitorSection = Field(default_factory=MonitorSection)
    accounts: list[Account] = Field(min_length=1)
    rules: RulesSection = RulesSection()
    alerts: AlertsSection = AlertsSection()
    digest: DigestSection = DigestSection()
    channels: list[AnyChannelConfig] = []

    @field_validator("channels", mode="before")
    @classmethod
    def default_names(cls, value: Any) -> Any:
        """A channel without a name is called after its type ("email", then "email-2" ...); a
        Telegram bot written as a webhook of format "telegram" is read as a telegram channel."""
        if not isinstance(value, list):
            return value
        value = [from_webhook(c) if isinstance(c, dict) else c for c in value]
        named = []
        for index, channel in enumerate(value):
            if isinstance(channel, dict) and not channel.get("name"):
                same_type_before = sum(isinstance(c, dict) and c.get("type") == channel.get("type")
                                       for c in value[:index])
                channel = {**channel, "name": channel.get("type", "") if not same_type_before
                           else f"{channel.get('type')}-{index}"}
            named.append(channel)
        return named

    @model_validator(mode="after")
    def files_in_the_state_dir(self) -> Settings:
        """A file channel's relative directory lies in the state directory."""
        channels = [c.model_copy(update={"directory": self.monitor.state_dir / c.directory.expanduser()})
                    if isinstance(c, FileConfig) and not c.directory.expanduser().is_absolute() else c
                    for c in self.channels]
        if channels != self.channels:
            object.__setattr__(self, "channels", channels)  # frozen: set once, while validating
        return self

    @model_validator(mode="after")
    def digest_channels_exist(self) -> Settings:
        unknown = sorted(set(self.digest.channels) - {c.name for c in self.channels})
        if unknown:
            raise Said("config.at", where="digest.channels", what=Said(
                "config.unknown_channel", names=", ".join(unknown), valid=", ".join(c.name for c in self.channels)))
        return self

    @model_validator(mode="after")
    def unique_names(self) -> Settings:
        for what, items in (("accounts", self.accounts), ("channels", self.channels)):
            names = [item.name for item in items]
            twice = next((index for index, name in enumerate(names) if names.count(name) > 1), None)
            if twice is not None:
                raise Said("config.name_twice", where=f"{what}[{twice}].name", name=names[twice])
        return self

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
    data = read_toml(path)
    try:
        with config_dir(path.parent):
            settings = Settings(**data)
    except ValidationError as exc:
        raise invalid(path, exc) from None

    problems = secret_problems(settings) if require_secrets else []
    if problems:
        raise ConfigError([Said("config.in_file", path=path, what=p) for p in problems])
    return settings


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables; ConfigError naming the file, and the line, when it cannot be read."""
    try:  # "utf-8-sig": Notepad starts a UTF-8 file with a byte-order mark, which TOML does not allow
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError([Said("config.in_file", path=path, what=Said("config.not_utf8"))]) from None
    except OSError as exc:
        raise ConfigError([Said("config.in_file", path=path, what=os_error(exc))]) from None
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"line (\d+), column (\d+)", str(exc))
        what = Said("config.not_toml_at", line=at[1], column=at[2], error=str(exc)) if at else \
            Said("config.not_toml", error=str(exc))
        raise ConfigError([Said("config.in_file", path=path, what=what)]) from None


def invalid(path: Path, exc: ValidationError, reference: str = "config.example.toml") -> ConfigError:
    """Every problem pydantic found in `path`, one line each in the seller's words; an unknown
    key points to `reference`, where the keys are documented."""
    return ConfigError([Said("config.in_file", path=path, what=_describe(err, reference)) for err in exc.errors()])


CONFIG_PLACES = (Path("config.toml"), Path("/etc/ozon-monitor/config.toml"))  # where `init` and the service put it


def default_config() -> Path | None:
    """The config a command reads when none is named: $OZON_MONITOR_CONFIG, else the first of
    CONFIG_PLACES that exists."""
    named = os.environ.get("OZON_MONITOR_CONFIG")
    return Path(named) if named else next((place for place in CONFIG_PLACES if place.is_file()), None)


def config_flag(path: Path) -> str:
    """What a command line we suggest needs to name `path`: " --config PATH", or nothing where
    the command would find it by itself."""
    found = default_config()
    return "" if found is not None and found.resolve() == path.resolve() else f" --config {path}"


def same_shop_twice(settings: Settings) -> list[Said]:
    """Accounts naming a shop an account above already names (its Client-Id at the same API
    address, a final "/" or not): it would be watched twice and every alert would come twice."""
    first: dict[tuple[int, str], str] = {}
    found = []
    for index, account in enumerate(settings.accounts):
        shop = first.setdefault((account.client_id, account.base_url.rstrip("/")), account.name)
        if shop != account.name:
            found.append(Said("config.shop_twice", where=f"accounts[{index}].client_id", client_id=account.client_id,
                              shop=shop))
    return found


def secret_problems(settings: Settings) -> list[Said]:
    """Why each API key, SMTP password or webhook secret cannot be read here, one line each."""
    problems = []
    for index, account in enumerate(settings.accounts):
        try:
            account.secret()
        except Said as exc:
            problems.append(Said("config.at", where=f"accounts[{index}] ({account.name})", what=exc))
    for index, channel in enumerate(settings.channels):
        try:
            secret = channel.password() if isinstance(channel, EmailConfig) else \
                channel.secret() if isinstance(channel, WebhookConfig) else \
                channel.token() if isinstance(channel, TelegramConfig) else None
        except Said as exc:
            problems.append(Said("config.at", where=f"channels[{index}] ({channel.name})", what=exc))
            continue
        if isinstance(channel, TelegramConfig) and secret is None:
            problems.append(Said("config.at", where=f"channels[{index}] ({channel.name})",
                                 what=Said("config.no_bot_token")))
    return problems


# Pydantic's checks in the seller's words: its error type -> a message id (`config.<type>`),
# filled from the error's context ("greater_than_equal" has `ge`).
PYDANTIC_TYPES = {
    "missing": "missing", "int_parsing": "int", "int_type": "int", "int_from_float": "int",
    "float_parsing": "number", "float_type": "number", "bool_parsing": "bool", "bool_type": "bool",
    "string_type": "string", "greater_than": "greater_than", "greater_than_equal": "greater_than_equal",
    "less_than": "less_than", "less_than_equal": "less_than_equal", "string_pattern_mismatch": "pattern",
    "string_too_short": "empty", "too_short": "too_short", "list_type": "list", "dict_type": "table",
    "model_type": "table", "model_attributes_type": "table", "literal_error": "literal", "url_parsing": "url",
    "date_parsing": "date", "date_from_datetime_parsing": "date", "date_type": "date",
}


def _describe(err: ErrorDetails, reference: str = "config.example.toml") -> Said:
    """One pydantic error as "key.path: what is wrong" in the seller's words, never echoing the
    input (it may be a secret)."""
    if len(err["loc"]) > 2 and err["loc"][0] == "channels" and err["loc"][2] in CHANNELS:
        err = {**err, "loc": err["loc"][:2] + err["loc"][3:]}  # drop the union tag pydantic adds
    loc = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in err["loc"]).lstrip(".")
    context = err.get("ctx") or {}
    own = context.get("error")
    if isinstance(own, Keyed):  # a rule config's own check, keyed the same way
        own = Said(own.key, **own.params)
    if isinstance(own, Said):  # a model's own check
        return Said("config.at", where=loc, what=own) if loc else own
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):  # the latter: a dataclass's
        if err["loc"][:-1] == ("rules",):
            return Said("config.at", where=loc, what=Said("config.unknown_rule_key", valid=", ".join(sorted(RULES))))
        return Said("config.at", where=loc, what=Said("config.unknown_key", reference=reference))
    if err["type"] == "union_tag_invalid" or (err["loc"] and err["loc"][-1] == "type" and "channels" in err["loc"]):
        where = loc if loc.endswith(".type") else f"{loc}.type"
        return Said("config.at", where=where, what=Said("config.channel_type", valid=", ".join(sorted(CHANNELS))))
    if err["type"] == "string_pattern_mismatch" and context.get("pattern") in FORMS:
        what = Said(FORMS[context["pattern"]])
    elif err["type"] in PYDANTIC_TYPES:
        what = Said(f"config.{PYDANTIC_TYPES[err['type']]}", **{k: v for k, v in context.items() if k != "error"})
    else:
        what = Said("config.other", error=err["msg"].removeprefix("Value error, "))
    return Said("config.at", where=loc, what=what) if loc else what
