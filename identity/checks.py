"""System checks of the identity app."""

from django.conf import settings
from django.core.checks import Warning, register

from identity.oidc.lean_guard import version_mismatches


@register()
def lean_paths_versions(app_configs, **kwargs) -> list[Warning]:
    """The lean token paths turn themselves off when the libraries they mirror are not the verified
    versions; say so, since every token request then costs more."""
    mismatches = version_mismatches()
    if not mismatches or not settings.GATEHOUSE_LEAN_PATHS:
        return []
    found = ", ".join(f"{name} {installed or 'missing'} (verified: {verified})"
                      for name, (verified, installed) in sorted(mismatches.items()))
    return [Warning(
        f"The lean token paths are off: {found}.",
        hint="Every token, refresh and userinfo request takes django-oauth-toolkit's own path, which answers "
             "the same but costs more. Run the lean paths' parity tests on these versions, then update "
             "VERIFIED_VERSIONS in identity/oidc/lean_guard.py.",
        id="gatehouse.W001",
    )]
