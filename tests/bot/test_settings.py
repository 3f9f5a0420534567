"""One settings class: values from the environment, one-line errors, the README table."""

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_is_the_settings_class():
    """Every variable documented, none extra, with the class's own words."""
    readme = (ROOT / "README.md").read_text("utf-8")
    assert Settings.markdown_table() in readme
    documented = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    assert documented == set(Settings.variables())


@pytest.mark.parametrize(
    ("environ", "field", "expected"),
    [
        ({}, "rate_limit_per_minute", 10),
        ({"PASOKH_RATE_LIMIT_PER_MINUTE": " 3 "}, "rate_limit_per_minute", 3),
        ({"PASOKH_MAX_FILE_MB": ""}, "max_file_mb", 20.0),  # blank counts as unset
        ({"PASOKH_ADMIN_IDS": "1; 2,3"}, "admin_ids", frozenset({1, 2, 3})),
        ({"PASOKH_EXAMPLE_QUESTIONS": "سفر کی بود؟ | با چه کسی؟"}, "example_questions",
         ("سفر کی بود؟", "با چه کسی؟")),
        ({"TELEGRAM_API_BASE_URL": "http://h:1/bot/"}, "telegram_api_base_url", "http://h:1"),
        ({"PASOKH_INDEX_DIR": "/x/idx"}, "index_dir", Path("/x/idx")),
    ],
)  # fmt: skip
def test_values(environ, field, expected):
    assert getattr(Settings.from_env(environ), field) == expected


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PASOKH_RATE_LIMIT_PER_MINUTE": "ده"}, "PASOKH_RATE_LIMIT_PER_MINUTE"),
        ({"PASOKH_ADMIN_IDS": "me"}, "PASOKH_ADMIN_IDS"),
        ({"PASOKH_LLM_TIMEOUT": "0"}, "PASOKH_LLM_TIMEOUT"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
    ],
)
def test_bad_values_name_the_variable(environ, named):
    with pytest.raises(ConfigError, match=named) as err:
        Settings.from_env(environ)
    assert "\n" not in str(err.value)


def test_secrets_stay_out_of_repr_and_flags_win():
    settings = Settings.from_env(
        {"TELEGRAM_BOT_TOKEN": "1:secret", "PASOKH_INDEX_DIR": "/a"}, index_dir=Path("/b")
    )
    assert "1:secret" not in repr(settings)
    assert settings.telegram_bot_token.get_secret_value() == "1:secret"
    assert settings.index_dir == Path("/b") and settings.index().index_dir == Path("/b")
