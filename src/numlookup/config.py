"""Configuration: an optional TOML file plus environment overrides, read once.

Every key has a default, so no file at all runs the embedded default (SQLite
under ./var, demo accounts and data). An environment variable overrides a key:
`NUMLOOKUP_<SECTION>_<KEY>` in upper case, e.g. `NUMLOOKUP_SERVER_HTTP=0.0.0.0:3700`
or `NUMLOOKUP_CACHE_TTL_OK=3600`. A bad value stops start-up with the key's name.
Nothing reads os.environ after `load()`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from numlookup.errors import ConfigError
from numlookup.results import CACHEABLE, ResultCode

ENV_PREFIX = "NUMLOOKUP_"


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    http: Listen | None = Listen("127.0.0.1", 3700)
    https: Listen | None = Listen("127.0.0.1", 3701)
    metrics: Listen | None = None  # Prometheus metrics (GET /metrics); None: off
    tls_cert: Path | None = None  # None: a self-signed certificate under var_dir/tls
    tls_key: Path | None = None
    request_timeout: float = 10.0  # a request must arrive whole within this
    keepalive_timeout: float = 60.0  # an idle keep-alive connection is closed after this
    max_url_bytes: int = 8192  # longer request-target: 414
    max_header_bytes: int = 16384  # larger header section: 431
    max_headers: int = 100  # more header fields: 431
    max_pipelined: int = 128  # unanswered requests per connection before reading pauses
    max_connections: int = 20000


@dataclass(frozen=True, slots=True)
class CacheConfig:
    # This server's own cache (the only one without `url`): ~230 bytes an entry,
    # so the default costs ~60 MB at most.
    max_entries: int = 250_000
    # redis://[:password@]host:port/db: the cache and ongoing-request counts shared by
    # every server; None: each server has its own.
    url: str | None = None
    key_prefix: str = "numlookup:"  # Redis keys start with this (several deployments, one Redis)
    redis_timeout: float = 0.5  # a Redis reply later than this: Redis counts as down
    # An ongoing request's hold on one of the account's places (a lease) ends after
    # this even if its server died; longer than realtime.deadline.
    lease_seconds: float = 30.0
    # Seconds to keep a result, per result code; codes not listed are never cached.
    ttl: Mapping[ResultCode, float] = field(
        default_factory=lambda: {
            ResultCode.OK: 86400.0,
            ResultCode.UNKNOWN_SUBSCRIBER: 3600.0,
            ResultCode.ABSENT_SUBSCRIBER_SM: 300.0,
            ResultCode.CALL_BARRED: 3600.0,
            ResultCode.TELE_SERVICE_NOT_PROVISIONED: 3600.0,
            ResultCode.FACILITY_NOT_SUPPORTED: 3600.0,
            ResultCode.DATA_MISSING: 300.0,
            ResultCode.UNEXPECTED_DATA_VALUE: 300.0,
        }
    )
    # The same for the realtime service, whose answers (the handset's location,
    # absence) age faster than portability data.
    realtime_ttl: Mapping[ResultCode, float] = field(
        default_factory=lambda: {
            ResultCode.OK: 3600.0,
            ResultCode.UNKNOWN_SUBSCRIBER: 3600.0,
            ResultCode.ABSENT_SUBSCRIBER_SM: 300.0,
            ResultCode.CALL_BARRED: 3600.0,
            ResultCode.TELE_SERVICE_NOT_PROVISIONED: 3600.0,
            ResultCode.FACILITY_NOT_SUPPORTED: 3600.0,
            ResultCode.DATA_MISSING: 300.0,
            ResultCode.UNEXPECTED_DATA_VALUE: 300.0,
        }
    )


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    path: Path | None = None  # None: var_dir/numlookup.sqlite3
    url: str | None = None  # postgresql://user:password@host:port/dbname; None: SQLite at path


@dataclass(frozen=True, slots=True)
class RecordsConfig:
    flush_interval: float = 0.5  # seconds between batched writes of lookup records
    batch_size: int = 5000  # a batch this large is written at once
    # Records kept in memory while the database is unreachable; older ones go to
    # var_dir/unwritten-records.jsonl, and all are delivered when it is back.
    max_held: int = 100_000


@dataclass(frozen=True, slots=True)
class AuthConfig:
    credential_cache_size: int = 10000  # verified Authorization values kept in memory
    failure_cache_seconds: float = (
        30.0  # a refused Authorization value is refused again without hashing
    )
    max_concurrent_verifications: int = 4


TRANSPORTS = ("m3ua-tcp", "m3ua-sctp", "ipa")


@dataclass(frozen=True, slots=True)
class Peer:
    """A signalling gateway (or STP) to send SS7 traffic through."""

    transport: str  # one of TRANSPORTS
    address: Listen

    def __str__(self) -> str:
        return f"{self.transport}://{self.address}"


@dataclass(frozen=True, slots=True)
class RealtimeConfig:
    """The Real-Time Lookup: MAP SendRoutingInfoForSM toward HLRs (TS 29.002 §12.1).

    No peers: accounts on the `realtime` service get SYSTEM_FAILURE.
    """

    peers: tuple[Peer, ...] = ()  # primary first; traffic moves on when one fails
    local_gt: str = "46700000001"  # our SMS-GMSC Global Title (serviceCentreAddress)
    local_pc: int = 1  # our point code (M3UA OPC)
    remote_pc: int = 2  # the signalling gateway's / HLR side's point code (DPC)
    routing_context: int | None = 1  # M3UA Routing Context (RFC 4666 §3.3.1)
    network_appearance: int | None = None
    network_indicator: int = 0  # 0 international, 2 national (Q.704 §14.2)
    invoke_timeout: float = 10.0  # MAP invoke timer: expiry is HLR_LOCAL_CANCEL
    deadline: float = 15.0  # the whole real-time lookup: expiry is TIMEOUT
    max_dialogues: int = 10000  # dialogues in flight toward the network; more: REQUEST_THROTTLED
    heartbeat_interval: float = 10.0  # M3UA BEAT on an idle association
    reconnect_min: float = 0.5  # seconds before reconnecting a lost peer, doubling
    reconnect_max: float = 30.0


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "INFO"
    show_msisdn: bool = False  # log full MSISDNs (off: the last four digits are masked)
    lookups: bool = False  # one line per lookup (DEBUG-level detail at INFO)


@dataclass(frozen=True, slots=True)
class Config:
    var_dir: Path = Path("var")
    seed_demo: bool = True  # a new database gets the demo accounts and data
    reload_interval: float = 1.0  # seconds between checks for changed accounts/rules/data
    server: ServerConfig = field(default_factory=ServerConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    records: RecordsConfig = field(default_factory=RecordsConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    log: LogConfig = field(default_factory=LogConfig)
    realtime: RealtimeConfig = field(default_factory=RealtimeConfig)

    @property
    def database_path(self) -> Path:
        return self.database.path or self.var_dir / "numlookup.sqlite3"


# ---------------------------------------------------------------- parsing


def parse_listen(key: str, value: Any) -> Listen | None:
    """`host:port`, `[v6]:port`, or empty / false to turn the listener off."""
    if value is False or value == "" or value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(key, "expected 'host:port'")
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(key, f"expected 'host:port', got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    number = int(port)
    if number > 65535:
        raise ConfigError(key, f"port {number} out of range")
    return Listen(host, number)


def _coerce(key: str, value: Any, kind: str) -> Any:
    try:
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError
            result = float(value)
            if result < 0:
                raise ConfigError(key, "must not be negative")
            return result
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            result_i = int(value)
            if result_i < 0:
                raise ConfigError(key, "must not be negative")
            return result_i
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind == "path":
            return Path(str(value)) if value not in ("", None) else None
        if kind == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        raise ConfigError(key, f"expected {kind}, got {value!r}") from None
    raise AssertionError(kind)


_KINDS = {"float": "float", "int": "int", "bool": "bool", "str": "str"}


def _kind_of(annotation: str) -> str:
    if "Listen" in annotation:
        return "listen"
    if "Path" in annotation:
        return "path"
    plain = annotation.removesuffix(" | None")
    for name in _KINDS:
        if plain == name:
            return name
    return "other"


def _build_section(cls: type, name: str, raw: Mapping[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(f"{name}.{sorted(unknown)[0]}", "unknown key")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        full = f"{name}.{key}"
        kind = _kind_of(str(known[key].type))
        if value is None and str(known[key].type).endswith("| None"):
            values[key] = None
        elif kind == "listen":
            values[key] = parse_listen(full, value)
        elif kind == "other":
            raise ConfigError(full, "not settable this way")
        else:
            values[key] = _coerce(full, value, kind)
    return cls(**values)


def parse_peer(key: str, value: Any) -> Peer:
    """`m3ua-tcp://host:port`, `m3ua-sctp://host:port` or `ipa://host:port`."""
    if not isinstance(value, str) or "://" not in value:
        raise ConfigError(key, f"expected 'transport://host:port', got {value!r}")
    transport, _, where = value.partition("://")
    if transport not in TRANSPORTS:
        raise ConfigError(key, f"transport {transport!r} is not one of {', '.join(TRANSPORTS)}")
    address = parse_listen(key, where)
    if address is None:
        raise ConfigError(key, "a peer needs host:port")
    return Peer(transport, address)


def _build_realtime(raw: Mapping[str, Any]) -> RealtimeConfig:
    values = dict(raw)
    peers = values.pop("peers", ())
    if isinstance(peers, str):  # from the environment: comma-separated
        peers = [p.strip() for p in peers.split(",") if p.strip()]
    if not isinstance(peers, list | tuple):
        raise ConfigError("realtime.peers", "expected a list of 'transport://host:port'")
    for key in ("routing_context", "network_appearance"):
        if values.get(key) in ("", "none", "None"):
            values[key] = None
    section = _build_section(RealtimeConfig, "realtime", values)
    config = RealtimeConfig(
        **{f.name: getattr(section, f.name) for f in fields(RealtimeConfig) if f.name != "peers"},
        peers=tuple(parse_peer(f"realtime.peers[{n}]", p) for n, p in enumerate(peers)),
    )
    gt = config.local_gt.removeprefix("+")
    if not gt.isdigit() or len(gt) > 15:
        raise ConfigError("realtime.local_gt", "expected an E.164 number")
    if config.deadline <= 0 or config.invoke_timeout <= 0:
        raise ConfigError("realtime.deadline", "timeouts must be more than 0")
    return config


def _parse_ttl(
    raw: Any, defaults: Mapping[ResultCode, float], table: str = "cache.ttl"
) -> dict[ResultCode, float]:
    if not isinstance(raw, Mapping):
        raise ConfigError(table, "expected a table of RESULT = seconds")
    ttl = dict(defaults)
    by_name = {code.name: code for code in ResultCode}
    for name, seconds in raw.items():
        code = by_name.get(name)
        if code is None:
            raise ConfigError(f"{table}.{name}", "not a result code")
        if code not in CACHEABLE:
            raise ConfigError(f"{table}.{name}", "this result is never cached")
        value = _coerce(f"{table}.{name}", seconds, "float")
        if value == 0:
            ttl.pop(code, None)
        else:
            ttl[code] = value
    return ttl


def _env_overrides(env: Mapping[str, str], data: dict[str, Any]) -> None:
    sections = {
        "server": ServerConfig,
        "cache": CacheConfig,
        "database": DatabaseConfig,
        "records": RecordsConfig,
        "auth": AuthConfig,
        "log": LogConfig,
        "realtime": RealtimeConfig,
    }
    top = {f.name for f in fields(Config)} - set(sections)
    for var, value in env.items():
        if not var.startswith(ENV_PREFIX):
            continue
        rest = var[len(ENV_PREFIX) :].lower()
        if rest.startswith("cache_ttl_"):
            data.setdefault("cache", {}).setdefault("ttl", {})[rest[10:].upper()] = value
            continue
        if rest.startswith("cache_realtime_ttl_"):
            table = data.setdefault("cache", {}).setdefault("realtime_ttl", {})
            table[rest[19:].upper()] = value
            continue
        if rest in top:
            data[rest] = value
            continue
        for section, cls in sections.items():
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1 :]
                if key not in {f.name for f in fields(cls)}:
                    raise ConfigError(var, "unknown setting")
                data.setdefault(section, {})[key] = value
                break
        else:
            if rest not in ("config",):
                raise ConfigError(var, "unknown setting")


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (if any), apply `NUMLOOKUP_*` overrides, validate."""
    env = os.environ if env is None else env
    if path is None and env.get(ENV_PREFIX + "CONFIG"):
        path = Path(env[ENV_PREFIX + "CONFIG"])
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError("config file", f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("config file", f"{path}: {exc}") from None
    _env_overrides(env, data)
    return from_mapping(data)


def from_mapping(data: Mapping[str, Any]) -> Config:
    top: dict[str, Any] = {}
    for key, value in data.items():
        if key == "server":
            top[key] = _build_section(ServerConfig, key, value)
        elif key == "cache":
            raw = dict(value)
            defaults = CacheConfig()
            ttl = _parse_ttl(raw.pop("ttl", {}), defaults.ttl)
            realtime_ttl = _parse_ttl(
                raw.pop("realtime_ttl", {}), defaults.realtime_ttl, "cache.realtime_ttl"
            )
            if raw.get("url") == "":  # from the environment: empty is unset
                raw["url"] = None
            section = _build_section(CacheConfig, key, raw)
            if section.url is not None and not section.url.startswith("redis://"):
                raise ConfigError("cache.url", "expected 'redis://host:port/db'")
            top[key] = replace(section, ttl=ttl, realtime_ttl=realtime_ttl)
        elif key == "database":
            raw = dict(value)
            if raw.get("url") == "":  # from the environment: empty is unset
                raw["url"] = None
            database = _build_section(DatabaseConfig, key, raw)
            if database.url is not None and database.url.partition("://")[0] not in (
                "postgresql",
                "postgres",
            ):
                raise ConfigError("database.url", "expected 'postgresql://...'")
            top[key] = database
        elif key == "records":
            top[key] = _build_section(RecordsConfig, key, value)
        elif key == "auth":
            top[key] = _build_section(AuthConfig, key, value)
        elif key == "log":
            top[key] = _build_section(LogConfig, key, value)
        elif key == "realtime":
            top[key] = _build_realtime(value)
        elif key in ("var_dir",):
            top[key] = Path(str(value))
        elif key == "seed_demo":
            top[key] = _coerce(key, value, "bool")
        elif key == "reload_interval":
            top[key] = _coerce(key, value, "float")
        else:
            raise ConfigError(key, "unknown key")
    config = Config(**top)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    if config.server.http is None and config.server.https is None:
        raise ConfigError("server.http", "both server.http and server.https are off")
    if (config.server.tls_cert is None) != (config.server.tls_key is None):
        raise ConfigError("server.tls_cert", "give both tls_cert and tls_key, or neither")
    if config.log.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError("log.level", f"unknown level {config.log.level!r}")
    if config.cache.max_entries < 1:
        raise ConfigError("cache.max_entries", "must be at least 1")
    if config.cache.redis_timeout <= 0:
        raise ConfigError("cache.redis_timeout", "must be more than 0")
    if config.cache.url is not None and config.cache.lease_seconds <= config.realtime.deadline:
        raise ConfigError(
            "cache.lease_seconds",
            f"must be longer than realtime.deadline ({config.realtime.deadline} s)",
        )
    for key in ("request_timeout", "keepalive_timeout"):
        if getattr(config.server, key) <= 0:
            raise ConfigError(f"server.{key}", "must be more than 0")
    if config.server.max_pipelined < 1:
        raise ConfigError("server.max_pipelined", "must be at least 1")
    for key in ("batch_size", "max_held"):
        if getattr(config.records, key) < 1:
            raise ConfigError(f"records.{key}", "must be at least 1")
    if config.records.flush_interval <= 0:
        raise ConfigError("records.flush_interval", "must be more than 0")
