"""The compiled API-key lookup returns exactly what its ORM queryset returns."""

import pytest

from applications.apikey_lookup import KEY_LOOKUP_FIELDS, key_lookup, key_lookup_queryset
from applications.apikey_services import api_key_create
from applications.services import application_create

pytestmark = pytest.mark.django_db


def _attrs(key):
    related = {name.split("__")[0] for name in KEY_LOOKUP_FIELDS if "__" in name}
    values = {name: getattr(key, name) for name in KEY_LOOKUP_FIELDS if "__" not in name and name != "org"}
    values["org"] = {field.attname: getattr(key.org, field.attname) for field in key.org._meta.concrete_fields}
    for name in related:
        obj = getattr(key, name)
        values[name] = obj and {field: getattr(obj, field.split("__")[1])
                                for field in KEY_LOOKUP_FIELDS if field.startswith(name + "__")}
    values["creator_role"] = key.creator_role
    return values


@pytest.mark.parametrize("bound", [False, True])
def test_the_compiled_lookup_equals_the_queryset(org, org_admin, bound):
    app = application_create(org=org, name="Sync", kind="machine").application if bound else None
    key, _raw = api_key_create(org=org, actor=org_admin, request=None, name="k", scopes=["members.view"],
                               allowed_ips=["10.0.0.0/8"], application=app)
    expected = list(key_lookup_queryset(key.prefix))[0]
    found = key_lookup(key.prefix)
    assert found.pk == key.pk
    assert found.creator_role == "admin"
    assert isinstance(found.scopes, list)
    assert _attrs(found) == _attrs(expected)
    assert (found.application is None) is not bound


def test_a_system_key_and_an_unknown_prefix(org):
    key, _raw = api_key_create(org=org, actor=None, request=None, name="k", scopes=["members.view"], system=True)
    found = key_lookup(key.prefix)
    assert found.created_by is None
    assert found.creator_role is None
    assert key_lookup("ghk_" + "0" * 16) is None
