from pathlib import Path

import pytest

from numlookup.config import Listen, load
from numlookup.errors import ConfigError
from numlookup.results import ResultCode


def test_no_file_runs_the_embedded_default() -> None:
    config = load(None, env={})
    assert config.server.http == Listen("127.0.0.1", 3700)
    assert config.server.https == Listen("127.0.0.1", 3701)
    assert config.database_path == Path("var/numlookup.sqlite3")
    assert config.cache.ttl[ResultCode.OK] == 86400
    assert ResultCode.TIMEOUT not in config.cache.ttl


def test_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "numlookup.toml"
    path.write_text(
        'var_dir = "/srv/nl"\n'
        '[server]\nhttp = "0.0.0.0:8080"\nhttps = ""\n'
        "[cache]\nmax_entries = 50\n[cache.ttl]\nOK = 60\nUNKNOWN_SUBSCRIBER = 0\n"
    )
    config = load(
        path, env={"NUMLOOKUP_SERVER_REQUEST_TIMEOUT": "2.5", "NUMLOOKUP_CACHE_TTL_OK": "30"}
    )
    assert config.server.http == Listen("0.0.0.0", 8080)
    assert config.server.https is None
    assert config.server.request_timeout == 2.5
    assert config.cache.max_entries == 50
    assert config.cache.ttl[ResultCode.OK] == 30
    assert ResultCode.UNKNOWN_SUBSCRIBER not in config.cache.ttl
    assert config.database_path == Path("/srv/nl/numlookup.sqlite3")


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[log]\nlevel = "debug"\n')
    assert load(None, env={"NUMLOOKUP_CONFIG": str(path)}).log.level == "debug"


@pytest.mark.parametrize(
    ("toml", "env", "key"),
    [
        ('[server]\nhttp = "nohost"\n', {}, "server.http"),
        ('[server]\nhttp = "1.2.3.4:99999"\n', {}, "server.http"),
        ('[server]\nrequest_timeout = "soon"\n', {}, "server.request_timeout"),
        ("[server]\nmax_connections = -1\n", {}, "server.max_connections"),
        ("[server]\nrequest_timeout = 0\n", {}, "server.request_timeout"),
        ("[server]\nbogus = 1\n", {}, "server.bogus"),
        ("[cache.ttl]\nTIMEOUT = 5\n", {}, "cache.ttl.TIMEOUT"),
        ("[cache.ttl]\nNOPE = 5\n", {}, "cache.ttl.NOPE"),
        ('[log]\nlevel = "loud"\n', {}, "log.level"),
        ('[server]\ntls_cert = "a.pem"\n', {}, "server.tls_cert"),
        ("", {"NUMLOOKUP_SERVER_NOPE": "1"}, "NUMLOOKUP_SERVER_NOPE"),
        ("", {"NUMLOOKUP_LOG_SHOW_MSISDN": "maybe"}, "log.show_msisdn"),
        ("nonsense = 1\n", {}, "nonsense"),
        ("[server\n", {}, "config file"),
        ('[cache]\nurl = "memcached://x"\n', {}, "cache.url"),
        ("", {"NUMLOOKUP_CACHE_URL": "http://x"}, "cache.url"),
        ('[cache]\nurl = "redis://x"\nlease_seconds = 10\n', {}, "cache.lease_seconds"),
        ("[cache]\nredis_timeout = 0\n", {}, "cache.redis_timeout"),
        ("[records]\nmax_held = 0\n", {}, "records.max_held"),
        ("", {"NUMLOOKUP_RECORDS_FLUSH_INTERVAL": "0"}, "records.flush_interval"),
    ],
)
def test_bad_values_name_their_key(
    tmp_path: Path, toml: str, env: dict[str, str], key: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load(path, env=env)
    assert info.value.key == key
    assert key in str(info.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.toml", env={})


def test_realtime_peers_from_file_and_environment(tmp_path: Path) -> None:
    from numlookup.config import Peer

    path = tmp_path / "rt.toml"
    path.write_text(
        '[realtime]\npeers = ["m3ua-tcp://127.0.0.1:2905", "ipa://[::1]:5000"]\n'
        'local_gt = "46700000001"\nrouting_context = 7\n'
    )
    config = load(path, env={"NUMLOOKUP_REALTIME_DEADLINE": "3"})
    assert config.realtime.peers == (
        Peer("m3ua-tcp", Listen("127.0.0.1", 2905)),
        Peer("ipa", Listen("::1", 5000)),
    )
    assert config.realtime.routing_context == 7
    assert config.realtime.deadline == 3
    env = {
        "NUMLOOKUP_REALTIME_PEERS": "m3ua-tcp://127.0.0.1:1, m3ua-tcp://127.0.0.1:2",
        "NUMLOOKUP_REALTIME_ROUTING_CONTEXT": "none",
    }
    from_env = load(None, env=env).realtime
    assert [str(p) for p in from_env.peers] == ["m3ua-tcp://127.0.0.1:1", "m3ua-tcp://127.0.0.1:2"]
    assert from_env.routing_context is None
    assert load(None, env={}).realtime.peers == ()


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[realtime]\npeers = ["smoke://1.2.3.4:5"]\n', "realtime.peers[0]"),
        ('[realtime]\npeers = ["m3ua-tcp://nohost"]\n', "realtime.peers[0]"),
        ('[realtime]\npeers = "m3ua-tcp://127.0.0.1:1"\nlocal_gt = "abc"\n', "realtime.local_gt"),
        ("[realtime]\nlocal_pc = -1\n", "realtime.local_pc"),
        ("[realtime]\nbogus = 1\n", "realtime.bogus"),
    ],
)
def test_bad_realtime_values_name_their_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load(path, env={})
    assert info.value.key == key


def test_realtime_answers_have_their_own_ttls(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[cache.realtime_ttl]\nOK = 600\n")
    config = load(path, env={"NUMLOOKUP_CACHE_REALTIME_TTL_ABSENT_SUBSCRIBER_SM": "0"})
    assert config.cache.realtime_ttl[ResultCode.OK] == 600
    assert ResultCode.ABSENT_SUBSCRIBER_SM not in config.cache.realtime_ttl
    assert config.cache.ttl[ResultCode.OK] == 86400
    bad = tmp_path / "bad.toml"
    bad.write_text("[cache.realtime_ttl]\nHLR_ABORT = 5\n")
    with pytest.raises(ConfigError) as info:
        load(bad, env={})
    assert info.value.key == "cache.realtime_ttl.HLR_ABORT"


def test_the_sample_production_config_loads() -> None:
    sample = Path(__file__).resolve().parents[2] / "deploy" / "numlookup.toml"
    config = load(sample, env={})
    assert config.server.http == Listen("0.0.0.0", 3700)
    assert config.database.url is not None and config.database.url.startswith("postgresql://")
    assert config.cache.url is not None and config.cache.url.startswith("redis://")
    assert len(config.realtime.peers) == 2
    assert config.seed_demo is False


def test_redis_cache_from_environment() -> None:
    config = load(None, env={"NUMLOOKUP_CACHE_URL": "redis://10.0.0.9:6380/1"})
    assert config.cache.url == "redis://10.0.0.9:6380/1"
    assert config.cache.lease_seconds > config.realtime.deadline
    assert load(None, env={"NUMLOOKUP_CACHE_URL": ""}).cache.url is None
