"""Writes to app roles: the roles an application defines, and the groups of its org that grant them."""

import re

from django.db import transaction

from applications.models import Application, AppRole
from applications.services import _changes, _locked, _org_groups
from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError

_ROLE_KEY = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,99}$")


def _role_key_check(key: str) -> str:
    key = key.strip()
    if not _ROLE_KEY.match(key):
        raise DomainError("A role key is lowercase letters, digits and . _ : - (up to 100), e.g. app:admin.",
                          field="key")
    return key


@transaction.atomic
def app_role_create(*, application: Application, key: str, name: str = "", groups=(), actor,
                    request=None) -> AppRole:
    """Define a role of the app, granted to members of `groups` (the app's org's only). Keys are unique per app."""
    application = _locked(application)
    key = _role_key_check(key)
    chosen = _org_groups(org=application.org, groups=groups, field="groups")
    if AppRole.objects.filter(application=application, key=key).exists():
        raise AlreadyExists(f"{application.name} already has a role “{key}”.", field="key")
    role = AppRole.objects.create(application=application, key=key, name=name.strip())
    role.groups.set(chosen)
    audit_record(action="app_role.created", actor=actor, org=application.org, target=role, request=request,
                 metadata={"client_id": application.client_id, "key": key, "name": role.name,
                           "groups": [group.slug for group in chosen]})
    return role


@transaction.atomic
def app_role_update(*, role: AppRole, name: str = "", groups=(), actor, request=None) -> AppRole:
    """Rename a role or change the groups that grant it. The key stays: RPs check it in tokens."""
    role = AppRole.objects.select_for_update().select_related("application__org").get(pk=role.pk)
    org = role.application.org
    chosen = _org_groups(org=org, groups=groups, field="groups")
    before = {"name": role.name, "groups": sorted(role.groups.values_list("slug", flat=True))}
    role.name = name.strip()
    role.save(update_fields=["name"])
    role.groups.set(chosen)
    after = {"name": role.name, "groups": sorted(group.slug for group in chosen)}
    if before != after:
        audit_record(action="app_role.updated", actor=actor, org=org, target=role, request=request,
                     metadata={"client_id": role.application.client_id, "key": role.key, **_changes(before, after)})
    return role


@transaction.atomic
def app_role_delete(*, role: AppRole, actor, request=None) -> None:
    """Delete a role; tokens already issued keep it until they expire."""
    role = AppRole.objects.select_related("application__org").get(pk=role.pk)
    audit_record(action="app_role.deleted", actor=actor, org=role.application.org, target=role, request=request,
                 metadata={"client_id": role.application.client_id, "key": role.key, "name": role.name,
                           "groups": sorted(role.groups.values_list("slug", flat=True))})
    role.delete()
