"""The claims Gatehouse puts in ID tokens and userinfo, beyond DOT's defaults."""

from applications.models import AppRole
from directory.models import Group


def _user_group_slugs(request) -> list[str]:
    # Memoised on the oauthlib request: groups and roles both need them.
    if not hasattr(request, "_gatehouse_groups"):
        request._gatehouse_groups = list(
            Group.objects.for_org(request.client.org_id)
            .filter(memberships__user=request.user)
            .order_by("slug")
            .values_list("pk", "slug")
        )
    return request._gatehouse_groups


def _split_name(full_name: str) -> tuple[str, str]:
    given, _, family = full_name.strip().partition(" ")
    return given, family.strip()


def claim_name(request) -> str:
    return request.user.full_name


def claim_given_name(request) -> str:
    return _split_name(request.user.full_name)[0]


def claim_family_name(request) -> str:
    return _split_name(request.user.full_name)[1]


def claim_updated_at(request) -> int:
    return int(request.user.updated_at.timestamp())


def claim_email(request) -> str:
    return request.user.email


def claim_email_verified(request) -> bool:
    return request.user.email_verified


def claim_org(request) -> dict:
    org = request.client.org
    return {"id": str(org.pk), "slug": org.slug}


def claim_groups(request) -> list[str]:
    return [slug for _, slug in _user_group_slugs(request)]


def claim_roles(request) -> list[str]:
    group_ids = [pk for pk, _ in _user_group_slugs(request)]
    if not group_ids:
        return []
    return list(
        AppRole.objects.filter(application=request.client, groups__in=group_ids)
        .order_by("key").values_list("key", flat=True).distinct()
    )


# claim → the scope that releases it ("openid": always, with any OIDC request).
CLAIM_SCOPES = {
    "name": "profile",
    "given_name": "profile",
    "family_name": "profile",
    "updated_at": "profile",
    "email": "email",
    "email_verified": "email",
    "org": "openid",
    "groups": "openid",
    "roles": "openid",
}

CLAIM_FUNCTIONS = {
    "name": claim_name,
    "given_name": claim_given_name,
    "family_name": claim_family_name,
    "updated_at": claim_updated_at,
    "email": claim_email,
    "email_verified": claim_email_verified,
    "org": claim_org,
    "groups": claim_groups,
    "roles": claim_roles,
}
