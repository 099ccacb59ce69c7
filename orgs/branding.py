"""Org branding of the hosted pages: display name, accent colour and logo (writes, checks and the read).

A logo is accepted only when Pillow decodes it fully as PNG, JPEG or WebP within the size limits —
never on the strength of its filename or the browser's content type — so what is served back is a
plain raster image (no SVG, which can carry script). The accent colour is stored as #rrggbb only,
so the per-org stylesheet built from it can never break out of a CSS value.
"""

import colorsys
import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from applications.models import Application
from audit.services import audit_record
from config.compiled_queries import CompiledQuery, first_row
from config.exceptions import DomainError
from config.postgresql.client_rows import client_rows
from orgs.models import Organization, OrgLogo
from orgs.settings_services import organization_fields_update

LOGO_MAX_BYTES = 256 * 1024
LOGO_MAX_SIDE = 1024
# Pillow's format name → the content type the logo is served with.
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
COLOR_RE = re.compile(r"^#[0-9a-f]{6}$")
DISPLAY_NAME_MAX = Organization._meta.get_field("display_name").max_length
BRANDING_FIELDS = ("display_name", "accent_color")


@dataclass(frozen=True)
class LogoImage:
    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def logo_inspect(data: bytes) -> LogoImage:
    """Decode `data` completely and return what it is, or DomainError(field="logo") saying why not.

    The dimensions are read from the header and checked before the pixels are decoded, so a
    decompression bomb is refused without being expanded; Pillow's own bomb check is an error here.
    """
    if not data:
        raise DomainError("The logo file is empty.", field="logo")
    if len(data) > LOGO_MAX_BYTES:
        raise DomainError(f"The logo is {len(data) // 1024} KB; it can be at most {LOGO_MAX_BYTES // 1024} KB.",
                          field="logo")
    unreadable = DomainError("This file is not a PNG, JPEG or WebP image, or it is damaged. "
                             "Upload a PNG, JPEG or WebP logo (SVG and GIF are not accepted).", field="logo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(LOGO_FORMATS)) as image:
                width, height = image.size
                if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE:
                    raise DomainError(f"The logo is {width}×{height} pixels; it can be at most "
                                      f"{LOGO_MAX_SIDE}×{LOGO_MAX_SIDE}.", field="logo")
                if getattr(image, "n_frames", 1) > 1:
                    raise DomainError("Animated images are not accepted as a logo; upload a still image.",
                                      field="logo")
                content_type = LOGO_FORMATS[image.format]
                # Decoding every pixel is what finds a truncated or corrupt file.
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(f"The logo is too large an image; it can be at most {LOGO_MAX_SIDE}×{LOGO_MAX_SIDE} "
                          "pixels.", field="logo") from None
    # What Pillow raises for a file it cannot identify or finish decoding.
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, KeyError):
        raise unreadable from None
    return LogoImage(data=data, content_type=content_type, width=width, height=height)


def _branding_clean(name: str, value) -> str:
    if not isinstance(value, str):
        raise DomainError("Enter text.", field=name)
    value = value.strip()
    if name == "display_name":
        if len(value) > DISPLAY_NAME_MAX:
            raise DomainError(f"The display name can be at most {DISPLAY_NAME_MAX} characters.", field=name)
        return value
    value = value.lower()
    if value and not COLOR_RE.match(value):
        raise DomainError("Enter the accent colour as #rrggbb, e.g. #0172ad, or leave it empty for the default.",
                          field=name)
    return value


@transaction.atomic
def organization_branding_update(*, org: Organization, actor, request=None, **changes) -> Organization:
    """Change the name and accent colour the hosted pages show for `org`.

    Empty values mean the default (the org's name, Gatehouse's colours). Every value is checked
    before anything is written; only changed fields are written and recorded (before/after) in one
    `organization.branding_updated` event. The caller checks settings.manage.
    """
    unknown = set(changes) - set(BRANDING_FIELDS)
    if unknown:
        raise TypeError(f"Not a branding setting: {', '.join(sorted(unknown))}.")
    cleaned = {name: _branding_clean(name, value) for name, value in changes.items()}
    return organization_fields_update(org=org, values=cleaned, action="organization.branding_updated",
                                      actor=actor, request=request)


def _logo_facts(logo: OrgLogo | LogoImage, digest: str) -> dict:
    # What the audit keeps of a logo: never the bytes.
    return {"digest": digest, "bytes": len(logo.content if isinstance(logo, OrgLogo) else logo.data),
            "content_type": logo.content_type, "width": logo.width, "height": logo.height}


@transaction.atomic
def organization_logo_set(*, org: Organization, actor, data: bytes, request=None) -> OrgLogo:
    """Store `data` as `org`'s logo, replacing any previous one, once logo_inspect accepts it.

    A refused file changes nothing. Uploading the same bytes again writes nothing.
    """
    image = logo_inspect(data)
    locked = Organization.objects.select_for_update().get(pk=org.pk)
    current = OrgLogo.objects.filter(org=locked).first()
    digest = image.digest
    if current is not None and current.digest == digest:
        return current
    before = _logo_facts(current, current.digest) if current is not None else None
    logo = current or OrgLogo(org=locked)
    logo.content, logo.content_type, logo.digest = image.data, image.content_type, digest
    logo.width, logo.height = image.width, image.height
    logo.uploaded_at = timezone.now()
    logo.save()
    audit_record(action="organization.logo_changed", actor=actor, org=locked, target=locked, request=request,
                 metadata={"before": before, "after": _logo_facts(image, digest)})
    return logo


@transaction.atomic
def organization_logo_remove(*, org: Organization, actor, request=None) -> bool:
    """Remove `org`'s logo; the hosted pages show the name alone. False, writing nothing, if there was none."""
    locked = Organization.objects.select_for_update().get(pk=org.pk)
    logo = OrgLogo.objects.filter(org=locked).first()
    if logo is None:
        return False
    facts = _logo_facts(logo, logo.digest)
    logo.delete()
    audit_record(action="organization.logo_removed", actor=actor, org=locked, target=locked, request=request,
                 metadata=facts)
    return True


# --- reading: what the hosted pages show ----------------------------------------------------------


@dataclass(frozen=True)
class HostedBrand:
    """What a hosted page needs to look like an org's: its name, and versioned URLs of its files."""

    slug: str
    name: str
    accent_color: str
    logo_digest: str

    @property
    def stylesheet_url(self) -> str:
        if not self.accent_color:
            return ""
        return reverse("branding:style", kwargs={"org_slug": self.slug}) + f"?v={stylesheet_version(self.accent_color)}"

    @property
    def logo_url(self) -> str:
        if not self.logo_digest:
            return ""
        return reverse("branding:logo", kwargs={"org_slug": self.slug}) + f"?v={self.logo_digest[:16]}"


BRAND_VALUES = ("slug", "name", "display_name", "accent_color", "logo__digest")


def _brand_from_row(row: dict | None, prefix: str = "") -> HostedBrand | None:
    if row is None:
        return None
    return HostedBrand(slug=row[f"{prefix}slug"], name=row[f"{prefix}display_name"] or row[f"{prefix}name"],
                       accent_color=row[f"{prefix}accent_color"].lower(),
                       logo_digest=row[f"{prefix}logo__digest"] or "")


# Read by every hosted page an org's app sent the browser to: their SQL is built once (config/compiled_queries.py),
# and their rows kept until the org, its logo or the app changes (config/postgresql/client_rows.py).
_BRAND_OF_ORG = CompiledQuery(lambda org_id: first_row(
    Organization.objects.filter(pk=org_id, status=Organization.Status.ACTIVE).values(*BRAND_VALUES)), -1,
    cache=client_rows)
_BRAND_OF_CLIENT = CompiledQuery(lambda client_id: first_row(
    Application.objects.filter(client_id=client_id, org__status=Organization.Status.ACTIVE)
    .values(*[f"org__{name}" for name in BRAND_VALUES])), "stand-in-client-id", cache=client_rows)


def hosted_brand_get(*, org_id: int | None = None, client_id: str = "") -> HostedBrand | None:
    """The branding of an active org, found by its id or one of its applications' client_id: one query.

    A suspended org, an unknown id or client: None (the hosted pages keep Gatehouse's look).
    """
    if org_id is not None:
        return _brand_from_row(_BRAND_OF_ORG.first(org_id))
    if client_id:
        return _brand_from_row(_BRAND_OF_CLIENT.first(client_id), prefix="org__")
    return None


# --- the per-org stylesheet -----------------------------------------------------------------------


def stylesheet_version(accent_color: str) -> str:
    """The stylesheet depends on the colour alone, so the colour's hash is its version and ETag."""
    return hashlib.sha256(accent_color.encode()).hexdigest()[:12]


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in rgb)


def _lightness(color: str, delta: float) -> str:
    r, g, b = (c / 255 for c in _rgb(color))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    return _hex(colorsys.hls_to_rgb(h, max(0.0, min(1.0, lightness + delta)), s))


def _inverse(color: str) -> str:
    """Black or white, whichever reads better on `color` (WCAG relative luminance)."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in _rgb(color))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000" if luminance > 0.179 else "#fff"


def _variables(*, text: str, background: str, hover: str, hover_background: str) -> str:
    r, g, b = _rgb(text)
    return (f"--pico-primary:{text};--pico-primary-background:{background};"
            "--pico-primary-border:var(--pico-primary-background);"
            f"--pico-primary-underline:rgba({r},{g},{b},0.5);--pico-primary-hover:{hover};"
            f"--pico-primary-hover-background:{hover_background};"
            "--pico-primary-hover-border:var(--pico-primary-hover-background);"
            "--pico-primary-hover-underline:var(--pico-primary-hover);"
            f"--pico-primary-focus:rgba({r},{g},{b},0.5);--pico-primary-inverse:{_inverse(background)};")


def stylesheet_render(accent_color: str) -> str:
    """Pico's primary colour variables, light and dark, from `accent_color` (#rrggbb, checked again here)."""
    if not COLOR_RE.match(accent_color or ""):
        raise ValueError("accent colour must be #rrggbb")
    light = _variables(text=accent_color, background=accent_color, hover=_lightness(accent_color, -0.1),
                       hover_background=_lightness(accent_color, -0.07))
    # On a dark background the text colour is lightened to stay readable; buttons keep the accent.
    dark_text = _lightness(accent_color, 0.15)
    dark = _variables(text=dark_text, background=accent_color, hover=_lightness(accent_color, 0.3),
                      hover_background=_lightness(accent_color, 0.07))
    # The same selectors as Pico's own, so this file (loaded after it) wins by order.
    return (f"/* Gatehouse org accent {accent_color} */\n"
            f":root:not([data-theme=dark]),[data-theme=light]{{{light}}}\n"
            f"@media only screen and (prefers-color-scheme:dark){{:root:not([data-theme]){{{dark}}}}}\n"
            f"[data-theme=dark]{{{dark}}}\n")
