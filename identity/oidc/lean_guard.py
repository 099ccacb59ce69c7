"""Whether the lean token paths may answer: they re-do parts of django-oauth-toolkit, oauthlib and jwcrypto
for speed, and are proven equal to them (the parity tests) for the versions below only.

With another version installed, or GATEHOUSE_LEAN_PATHS off, every request takes DOT's own path: slower,
never different. The system check `gatehouse.W001` says so at start-up (identity/checks.py).
"""

from functools import cache
from importlib.metadata import PackageNotFoundError, version

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# The versions identity/tests/test_oidc_lean_*.py, test_oidc_userinfo_lean.py and
# config/tests/test_wsgi_token_fast_path.py compare the lean paths with. Raise them together with a run
# of those tests on the new versions.
VERIFIED_VERSIONS = {"django-oauth-toolkit": "3.4.1", "oauthlib": "4.0.1", "jwcrypto": "1.6.1"}


@cache  # what is installed does not change under a running process (reading it costs milliseconds)
def installed_version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def version_mismatches() -> dict[str, tuple[str, str | None]]:
    """{package: (verified, installed)} for each package whose installed version is not the verified one."""
    found = {package: installed_version(package) for package in VERIFIED_VERSIONS}
    return {package: (VERIFIED_VERSIONS[package], found[package])
            for package in VERIFIED_VERSIONS if found[package] != VERIFIED_VERSIONS[package]}


@cache
def lean_paths_enabled() -> bool:
    """Asked on every token request: worked out once per process (and again when settings change)."""
    return bool(settings.GATEHOUSE_LEAN_PATHS) and not version_mismatches()


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs) -> None:
    if setting == "GATEHOUSE_LEAN_PATHS":
        lean_paths_enabled.cache_clear()
