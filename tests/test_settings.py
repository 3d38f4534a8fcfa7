from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from openllm_site import settings as site

ROOT = Path(__file__).resolve().parent.parent


def settings_in_child(tmp_path, names: list[str], **env: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh process with ``env``; print ``names`` as JSON."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}, default=str))"
    )
    child_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "openllm_site.settings", "VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=60
    )


# ---------------------------------------------------------------- yes/no and numbers


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("Yes", True), ("ON", True), (" on ", True),
     ("0", False), ("false", False), ("No", False), ("OFF", False), ("", None)],
)
def test_booleans_accept_the_usual_words(monkeypatch, value, expected):
    monkeypatch.setenv("SOME_FLAG", value)
    assert site.env_bool("SOME_FLAG", True) is (True if expected is None else expected)
    assert site.env_bool("SOME_FLAG", False) is (False if expected is None else expected)


@pytest.mark.parametrize("value", ["flase", "2", "enabled", "tru"])
def test_a_boolean_typo_is_an_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("SOME_FLAG", value)
    with pytest.raises(ImproperlyConfigured) as error:
        site.env_bool("SOME_FLAG", False)
    assert f"SOME_FLAG='{value}'" in str(error.value)
    assert "1, true, yes, on, 0, false, no, off" in str(error.value)


def test_numbers_must_be_whole_numbers(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", " 42 ")
    assert site.env_int("SOME_NUMBER", 7) == 42
    monkeypatch.setenv("SOME_NUMBER", "")
    assert site.env_int("SOME_NUMBER", 7) == 7
    monkeypatch.setenv("SOME_NUMBER", "4.5")
    with pytest.raises(ImproperlyConfigured, match=r"SOME_NUMBER='4.5' is not a whole number"):
        site.env_int("SOME_NUMBER", 7)
    monkeypatch.setenv("SOME_NUMBER", "-1")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER=-1 is too small"):
        site.env_int("SOME_NUMBER", 7, minimum=0)


def test_debug_typo_stops_the_start(tmp_path):
    result = settings_in_child(tmp_path, ["DEBUG"], DEBUG="flase")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG='flase' is not a yes/no value" in result.stderr


def test_a_port_that_is_not_a_number_stops_the_start(tmp_path):
    result = settings_in_child(tmp_path, ["EMAIL_PORT"], EMAIL_HOST="smtp.example.org", EMAIL_PORT="submission")
    assert result.returncode != 0
    assert "ImproperlyConfigured: EMAIL_PORT='submission' is not a whole number." in result.stderr


# ---------------------------------------------------------------- rate limits and proxies

DEFAULTS = {"removal": "5/h", "report": "10/h", "signup": "20/h/ip"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", DEFAULTS),
        ("removal=3/15m", {**DEFAULTS, "removal": "3/15m"}),
        ("report=20/h/ip,10/h/user, removal=off", {**DEFAULTS, "report": "20/h/ip,10/h/user", "removal": ""}),
        ("signup=5/m/ip,100/d/ip", {**DEFAULTS, "signup": "5/m/ip,100/d/ip"}),
    ],
)
def test_rate_limits_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("RATE_LIMITS", value)
    assert site.env_rate_limits("RATE_LIMITS", DEFAULTS, anonymous=("signup",)) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("removals=5/h", "unknown form 'removals'; the forms are removal, report, signup"),
        ("removal=5/hour", "'5/hour' for removal is not a rate"),
        ("removal=5", "'5' for removal is not a rate"),
        ("removal=5/0h", "'5/0h' for removal is not a rate"),
        ("5/h", "'5/h' names no form"),
        ("signup=5/h/user", "signup is anonymous"),
    ],
)
def test_bad_rate_limits_are_refused(monkeypatch, value, message):
    monkeypatch.setenv("RATE_LIMITS", value)
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        site.env_rate_limits("RATE_LIMITS", DEFAULTS, anonymous=("signup",))


def test_rate_limits_reach_allauth_and_forwarded_for_is_trusted_only_behind_a_proxy(tmp_path):
    names = ["RATE_LIMITS", "ACCOUNT_RATE_LIMITS", "TRUSTED_PROXY_COUNT", "ALLAUTH_TRUSTED_PROXY_COUNT"]
    result = settings_in_child(tmp_path, names, RATE_LIMITS="signup=3/h,comment=off", BEHIND_PROXY="")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["RATE_LIMITS"] == {
        "removal": "5/h", "report": "10/h", "comment": "", "signup": "3/h", "api_auth": "60/h/ip",
    }
    assert found["ACCOUNT_RATE_LIMITS"] == {"signup": "3/h"}
    assert found["TRUSTED_PROXY_COUNT"] == found["ALLAUTH_TRUSTED_PROXY_COUNT"] == 0

    found = json.loads(settings_in_child(tmp_path, names, BEHIND_PROXY="1").stdout)
    assert found["TRUSTED_PROXY_COUNT"] == found["ALLAUTH_TRUSTED_PROXY_COUNT"] == 1
    found = json.loads(settings_in_child(tmp_path, names, BEHIND_PROXY="1", TRUSTED_PROXY_COUNT="2").stdout)
    assert found["TRUSTED_PROXY_COUNT"] == found["ALLAUTH_TRUSTED_PROXY_COUNT"] == 2


def test_a_bad_rate_limit_stops_the_start(tmp_path):
    result = settings_in_child(tmp_path, ["RATE_LIMITS"], RATE_LIMITS="report=10 per hour")
    assert result.returncode != 0
    assert "RATE_LIMITS: '10 per hour' for report is not a rate" in result.stderr


# ---------------------------------------------------------------- cache


def test_a_redis_cache_degrades_and_does_not_wait_long(tmp_path):
    result = settings_in_child(tmp_path, ["CACHES"], CACHE_URL="redis://redis.example:6379/1")
    assert result.returncode == 0, result.stderr
    cache = json.loads(result.stdout)["CACHES"]["default"]
    assert cache["BACKEND"] == "contributions.cache.DegradingRedisCache"
    assert cache["LOCATION"] == "redis://redis.example:6379/1"
    assert 0 < cache["OPTIONS"]["socket_connect_timeout"] <= 1
    assert 0 < cache["OPTIONS"]["socket_timeout"] <= 1


def test_without_cache_url_a_degrading_file_cache(tmp_path):
    result = settings_in_child(tmp_path, ["CACHES"], CACHE_URL="")
    cache = json.loads(result.stdout)["CACHES"]["default"]
    assert cache == {"BACKEND": "contributions.cache.DegradingFileBasedCache", "LOCATION": str(tmp_path / "cache")}


# ---------------------------------------------------------------- requirements


def _imported_top_level_modules() -> set[str]:
    found = set()
    for path in [*(ROOT / "contributions").rglob("*.py"), *(ROOT / "openllm_site").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"contributions", "openllm_site", "__future__"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_the_code_imports_is_pinned_at_the_installed_version():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line.strip())
        if match:
            pins[_normalise(match[1])] = match[3]
    distributions = metadata.packages_distributions()
    for module in sorted(_imported_top_level_modules()):
        names = {_normalise(name) for name in distributions.get(module, [])}
        assert names, f"{module} is imported but not installed"
        pinned = names & pins.keys()
        assert pinned, f"{module} ({', '.join(sorted(names))}) is imported but not pinned in requirements.txt"
        for name in pinned:
            installed = metadata.version(name)
            assert pins[name] == installed, f"{name}: pinned {pins[name]}, installed {installed}"
