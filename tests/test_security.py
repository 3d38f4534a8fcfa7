from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from .conftest import ROOT, child_env

pytestmark = pytest.mark.django_db


def test_deploy_check_has_no_warning_under_production_settings():
    env = child_env(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="data.openllm-europe.eu")
    env.pop("SECURE_HTTPS", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_the_development_secret_key():
    env = child_env(DEBUG="0")
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_cookies_are_secure_httponly_and_samesite():
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.SESSION_COOKIE_SAMESITE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0)"
    )
    env = child_env(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(64))
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert result.stdout.splitlines()[-1].split() == ["True", "True", "True", "Lax", "True", "True"], result.stderr


def test_pages_forbid_other_origins_and_framing(client):
    response = client.get(reverse("contributions:home"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


EXTERNAL = re.compile(r"""(?:src|href|url\()\s*=?\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize(
    "name", ["contributions:home", "account_login", "account_signup", "contributions:agreement"]
)
def test_pages_load_nothing_from_another_origin(client, name):
    html = client.get(reverse(name)).content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)


def test_vendored_assets_reference_no_other_origin():
    for path in Path(ROOT, "static").rglob("*"):
        if path.suffix in {".css", ".js", ".html", ".svg"}:
            text = path.read_text()
            for match in re.finditer(r"https?://[^\s\"')]+", text):
                # SVG namespaces are identifiers, not requests.
                assert match.group(0) == "http://www.w3.org/2000/svg", (path, match.group(0))


def test_static_files_are_served_by_the_app(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert b"system-ui" in b"".join(response.streaming_content)


def test_collectstatic_under_production_settings_fingerprints_assets(tmp_path):
    env = child_env(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(64), STATIC_ROOT=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.glob("css/site.*.css")), "no fingerprinted stylesheet"
    assert (tmp_path / "staticfiles.json").exists()


def test_user_text_is_escaped_on_public_pages(client, member):
    member.display_name = '<script>alert("x")</script>'
    member.public_profile = True
    member.save()
    html = client.get(reverse("contributions:person", args=[member.pseudonym])).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html
