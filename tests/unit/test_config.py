"""Settings layers: defaults, TOML file, SMARTBCC_* environment, options; errors that say what to fix."""

from pathlib import Path

import pytest

from gateway.config import ConfigError, Settings, load_settings


def test_embedded_defaults():
    settings = load_settings(environ={"HOME": "/home/ada"})
    assert settings == Settings(data_dir=Path("/home/ada/.local/share/smartbcc"))
    assert settings.effective_database_url == "sqlite+aiosqlite:////home/ada/.local/share/smartbcc/smartbcc.db"
    assert (settings.host, settings.port, settings.max_message_size) == ("127.0.0.1", 2525, 20 * 1024 * 1024)


def test_the_data_folder_is_the_users_data_folder_not_the_working_folder():
    assert load_settings(environ={"HOME": "/home/ada", "XDG_DATA_HOME": "/srv/xdg"}).data_dir == Path(
        "/srv/xdg/smartbcc")
    assert load_settings(environ={"HOME": "/home/ada", "XDG_DATA_HOME": "relative"}).data_dir == Path(
        "/home/ada/.local/share/smartbcc")      # a relative XDG_DATA_HOME is ignored, as the specification says
    assert load_settings(environ={"HOME": "/home/ada", "SMARTBCC_DATA_DIR": "/var/lib/smartbcc"}).data_dir == Path(
        "/var/lib/smartbcc")


def test_layers_later_wins(tmp_path: Path):
    config = tmp_path / "smartbcc.toml"
    config.write_text('[smartbcc]\nmail_domain = "bcc.file.example"\nport = 2600\nmax-recipients = 7\n')
    env = {"SMARTBCC_PORT": "2700", "SMARTBCC_SMARTHOST_STARTTLS": "no", "OTHER": "x"}
    settings = load_settings(config, overrides={"port": None, "host": "0.0.0.0"}, environ=env)
    assert (settings.mail_domain, settings.port, settings.max_recipients, settings.host) == (
        "bcc.file.example", 2700, 7, "0.0.0.0")
    assert settings.smarthost_starttls is False


def test_config_file_from_environment(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text('data_dir = "/srv/smartbcc"\n')
    assert load_settings(environ={"SMARTBCC_CONFIG": str(config)}).data_dir == Path("/srv/smartbcc")


@pytest.mark.parametrize("env, message", [
    ({"SMARTBCC_PORT": "twenty-five"}, "whole number"),
    ({"SMARTBCC_PORT": "70000"}, "outside"),
    ({"SMARTBCC_MAX_MESSAGE_SIZE": "0"}, "above zero"),
    ({"SMARTBCC_NOPE": "1"}, "unknown setting 'NOPE'"),
    ({"SMARTBCC_SMARTHOST_STARTTLS": "maybe"}, "true or false"),
])
def test_bad_settings_name_the_problem(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_missing_and_broken_config_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, environ={})


def test_antispoof_defaults_and_values():
    settings = load_settings(environ={})
    assert (settings.antispoof, settings.antispoof_policy, settings.dns_resolver, settings.dns_timeout,
            settings.trusted_networks) == ("verify", "default", "", 5.0, "127.0.0.0/8,::1")
    settings = load_settings(environ={
        "SMARTBCC_ANTISPOOF": "upstream", "SMARTBCC_UPSTREAM_AUTHSERV_ID": "mx.example.com",
        "SMARTBCC_UPSTREAM_NETWORKS": "192.0.2.10/32",
        "SMARTBCC_DNS_RESOLVER": "[::1]:5353", "SMARTBCC_DNS_TIMEOUT": "0.5", "SMARTBCC_TRUSTED_NETWORKS": ""})
    assert (settings.antispoof, settings.dns_timeout, settings.trusted_networks) == ("upstream", 0.5, "")


@pytest.mark.parametrize("value, expected", [
    ("", None), ("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    ("::1", ("::1", 53)), ("[::1]:5353", ("::1", 5353)),
])
def test_dns_resolver_forms(value, expected):
    from gateway.config import dns_server
    assert dns_server(value) == expected


@pytest.mark.parametrize("env, message", [
    ({"SMARTBCC_ANTISPOOF": "spf"}, "antispoof must be one of none, upstream, verify"),
    ({"SMARTBCC_ANTISPOOF_POLICY": "paranoid"}, "default or strict"),
    ({"SMARTBCC_ANTISPOOF": "upstream"}, "needs upstream_authserv_id"),
    ({"SMARTBCC_ANTISPOOF": "upstream", "SMARTBCC_UPSTREAM_AUTHSERV_ID": "mx.example.com"},
     "needs upstream_networks"),
    ({"SMARTBCC_ANTISPOOF": "upstream", "SMARTBCC_UPSTREAM_AUTHSERV_ID": "mx.example.com",
      "SMARTBCC_UPSTREAM_NETWORKS": "relay"}, "upstream_networks: 'relay' is not a network"),
    ({"SMARTBCC_DNS_RESOLVER": "dns.example"}, "dns_resolver must be an IP address"),
    ({"SMARTBCC_DNS_TIMEOUT": "soon"}, "must be a number"),
    ({"SMARTBCC_DNS_TIMEOUT": "0"}, "dns_timeout must be above zero"),
    ({"SMARTBCC_TRUSTED_NETWORKS": "127.0.0.0/8,office"}, "'office' is not a network"),
])
def test_bad_antispoof_settings_name_the_problem(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_the_deploy_example_config_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "deploy" / "smartbcc.toml.example"
    settings = load_settings(example, environ={})
    assert (settings.port, settings.metrics_port, settings.metrics_host) == (25, 9325, "127.0.0.1")


def test_metrics_port_outside_the_range_says_so():
    with pytest.raises(ConfigError, match="metrics_port 70000 is outside 0-65535"):
        load_settings(overrides={"metrics_port": 70000}, environ={})
