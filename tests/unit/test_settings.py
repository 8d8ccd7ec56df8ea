"""Settings: precedence of environment, .env and TOML; readable errors; the token never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import DEFAULT_MODEL, Settings, SettingsError, load_settings

TOKEN = "MTIzNDU2Nzg5.secret-token-value.abcdef"


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "absent.env")
    assert settings == Settings()
    assert settings.model == DEFAULT_MODEL
    assert (settings.data_dir, settings.sources, settings.top_k) == (Path("data"), ("seeds",), 3)
    assert settings.discord_token is None


def test_environment_beats_dotenv_beats_toml(tmp_path: Path) -> None:
    toml = tmp_path / "articlebot.toml"
    toml.write_text(
        'top_k = 7\nmin_score = 0.25\nsources = ["a", "b"]\nowner_ids = [1, 2]\n'
        "allow_private_urls = true\nbatch_size = 4\n",
        encoding="utf-8",
    )
    dotenv = tmp_path / ".env"
    dotenv.write_text("ARTICLEBOT_TOP_K=5\nARTICLEBOT_MIN_SCORE=0.4\n", encoding="utf-8")
    settings = load_settings(
        {"ARTICLEBOT_CONFIG": str(toml), "ARTICLEBOT_TOP_K": "9"}, env_file=dotenv
    )
    assert settings.top_k == 9  # environment
    assert settings.min_score == 0.4  # .env
    assert settings.sources == ("a", "b")  # TOML
    assert settings.owner_ids == (1, 2)
    assert settings.allow_private_urls is True
    assert settings.batch_size == 4


def test_config_file_may_be_named_in_dotenv(tmp_path: Path) -> None:
    toml = tmp_path / "articlebot.toml"
    toml.write_text("top_k = 6\n", encoding="utf-8")
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"ARTICLEBOT_CONFIG={toml}\n", encoding="utf-8")
    assert load_settings({}, env_file=dotenv).top_k == 6


def test_cli_overrides_beat_everything(tmp_path: Path) -> None:
    settings = load_settings(
        {"ARTICLEBOT_DATA_DIR": "/from/env", "ARTICLEBOT_MODEL": "env-model"},
        env_file=None,
        data_dir=tmp_path,
        model=None,  # a flag not given leaves the lower layers alone
    )
    assert settings.data_dir == tmp_path
    assert settings.model == "env-model"


def test_conversions() -> None:
    settings = load_settings(
        {
            "ARTICLEBOT_SOURCES": "seeds, extra.jsonl ,https://example.org/a,",
            "ARTICLEBOT_OWNER_IDS": "123, 456",
            "ARTICLEBOT_ALLOW_PRIVATE_URLS": "Yes",
            "ARTICLEBOT_FETCH_TIMEOUT": "2.5",
            "ARTICLEBOT_DATA_DIR": "~/articlebot-data",
            "DISCORD_API_BASE": "http://127.0.0.1:8080/api/v10",
            "DISCORD_TOKEN": "",
        },
        env_file=None,
    )
    assert settings.sources == ("seeds", "extra.jsonl", "https://example.org/a")
    assert settings.owner_ids == (123, 456)
    assert settings.allow_private_urls is True
    assert settings.fetch_timeout == 2.5
    assert settings.data_dir == Path("~/articlebot-data").expanduser()
    assert settings.discord_api_base == "http://127.0.0.1:8080/api/v10"
    assert settings.discord_token is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARTICLEBOT_TOP_K", "three"),
        ("ARTICLEBOT_TOP_K", "0"),
        ("ARTICLEBOT_TOP_K", "11"),
        ("ARTICLEBOT_MIN_SCORE", "high"),
        ("ARTICLEBOT_LEXICAL_WEIGHT", "1.5"),
        ("ARTICLEBOT_BATCH_SIZE", "0"),
        ("ARTICLEBOT_MAX_PASSAGE_TOKENS", "8"),
        ("ARTICLEBOT_PASSAGE_SENTENCES", "0"),
        ("ARTICLEBOT_ALLOW_PRIVATE_URLS", "maybe"),
        ("ARTICLEBOT_OWNER_IDS", "alice"),
        ("ARTICLEBOT_MAX_ARTICLE_BYTES", "-1"),
        ("ARTICLEBOT_FETCH_TIMEOUT", "0"),
        ("ARTICLEBOT_MAX_COLLECTION_BYTES", "0"),
        ("ARTICLEBOT_READ_TIMEOUT", "0"),
        ("ARTICLEBOT_READ_MEMORY_MB", "100"),
        ("ARTICLEBOT_LOG_LEVEL", "chatty"),
        ("ARTICLEBOT_WATCH_MAX_PER_MEMBER", "0"),
        ("ARTICLEBOT_WATCH_MAX_PER_SERVER", "0"),
        ("ARTICLEBOT_WATCH_POSTS_PER_DAY", "0"),
        ("ARTICLEBOT_WATCH_EXPIRY_DAYS", "0"),
        ("ARTICLEBOT_DATABASE_URL", "mysql://db/articlebot"),
    ],
)
def test_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value}, env_file=None)
    assert name in str(caught.value)


def test_bad_value_in_toml_names_the_key_and_file(tmp_path: Path) -> None:
    toml = tmp_path / "articlebot.toml"
    toml.write_text('batch_size = "lots"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings({"ARTICLEBOT_CONFIG": str(toml)}, env_file=None)
    assert "batch_size" in str(caught.value)
    assert str(toml) in str(caught.value)


def test_unknown_toml_key_and_unreadable_toml(tmp_path: Path) -> None:
    toml = tmp_path / "articlebot.toml"
    toml.write_text("top_kk = 3\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown settings: top_kk"):
        load_settings({"ARTICLEBOT_CONFIG": str(toml)}, env_file=None)
    toml.write_text("top_k = \n", encoding="utf-8")
    with pytest.raises(SettingsError, match="ARTICLEBOT_CONFIG"):
        load_settings({"ARTICLEBOT_CONFIG": str(toml)}, env_file=None)
    with pytest.raises(SettingsError, match="ARTICLEBOT_CONFIG"):
        load_settings({"ARTICLEBOT_CONFIG": str(tmp_path / "missing.toml")}, env_file=None)


def test_repr_and_str_never_show_the_token(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"DISCORD_TOKEN={TOKEN}\n", encoding="utf-8")
    settings = load_settings({}, env_file=dotenv)
    assert settings.discord_token == TOKEN
    for shown in (repr(settings), str(settings), f"{settings}", repr([settings])):
        assert TOKEN not in shown
        assert "secret-token" not in shown
    assert "discord_token=<set>" in repr(settings)
    assert "discord_token=None" in repr(load_settings({}, env_file=None))


def test_shards_name_ranges_of_the_shard_count(tmp_path: Path) -> None:
    absent = tmp_path / "absent.env"
    assert load_settings({}, env_file=absent).shard_ids == ()
    everything = load_settings({"ARTICLEBOT_SHARD_COUNT": "3"}, env_file=absent)
    assert everything.shard_ids == (0, 1, 2)
    some = load_settings(
        {"ARTICLEBOT_SHARDS": "4-5, 0,2", "ARTICLEBOT_SHARD_COUNT": "8"}, env_file=absent
    )
    assert some.shard_ids == (0, 2, 4, 5)
    flags = load_settings({}, env_file=absent, shards="1", shard_count=2)
    assert (flags.shards, flags.shard_count, flags.shard_ids) == ("1", 2, (1,))


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"ARTICLEBOT_SHARDS": "0-1"}, "needs ARTICLEBOT_SHARD_COUNT"),
        ({"ARTICLEBOT_SHARDS": "0-8", "ARTICLEBOT_SHARD_COUNT": "8"}, "shard 8 is not below"),
        ({"ARTICLEBOT_SHARDS": "one", "ARTICLEBOT_SHARD_COUNT": "8"}, "'one' is not a shard"),
        ({"ARTICLEBOT_SHARDS": "3-1", "ARTICLEBOT_SHARD_COUNT": "8"}, "'3-1' is not a range"),
        ({"ARTICLEBOT_SHARDS": ",", "ARTICLEBOT_SHARD_COUNT": "8"}, "names no shard"),
        ({"ARTICLEBOT_SHARD_COUNT": "-1"}, "ARTICLEBOT_SHARD_COUNT must be"),
    ],
)
def test_unusable_shards_are_refused_by_name(
    tmp_path: Path, environ: dict[str, str], says: str
) -> None:
    with pytest.raises(SettingsError, match=says):
        load_settings(environ, env_file=tmp_path / "absent.env")


def test_the_database_url_is_optional_and_never_shown() -> None:
    url = "postgresql://bot:hunter2@db.example:5432/articlebot"
    settings = load_settings({"ARTICLEBOT_DATABASE_URL": url}, env_file=None)

    assert settings.database_url == url
    assert "hunter2" not in repr(settings) and "database_url=<set>" in repr(settings)
    assert load_settings({"ARTICLEBOT_DATABASE_URL": ""}, env_file=None).database_url is None
    assert load_settings({}, env_file=None).database_url is None


def test_milvus_uri_is_a_server_address_or_a_lite_file() -> None:
    assert load_settings({}, env_file=None).milvus_uri is None
    for uri in ("http://127.0.0.1:19530", "https://milvus.example:443", "/srv/m.db"):
        settings = load_settings({"ARTICLEBOT_MILVUS_URI": uri}, env_file=None)
        assert settings.milvus_uri == uri
    with pytest.raises(SettingsError, match="ARTICLEBOT_MILVUS_URI"):
        load_settings({"ARTICLEBOT_MILVUS_URI": "milvus:19530"}, env_file=None)
    with pytest.raises(SettingsError, match="ARTICLEBOT_MILVUS_COLLECTION"):
        load_settings({"ARTICLEBOT_MILVUS_COLLECTION": "my-passages"}, env_file=None)
