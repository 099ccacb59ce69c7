"""Reading CSV imports of users: always through the org, so another org's import is a 404."""

import uuid

from django.db.models import QuerySet
from django.http import Http404

from directory.models import UserImport

RECENT_IMPORTS = 50


def user_import_list(*, org) -> QuerySet[UserImport]:
    """`org`'s recent imports, newest first, without the (large) row data."""
    return (UserImport.objects.for_org(org).select_related("created_by")
            .defer("rows", "row_errors", "results").order_by("-created_at", "-id")[:RECENT_IMPORTS])


def user_import_get(*, org, public_id, light: bool = False) -> UserImport:
    """One import of `org` by its public id; another org's import (or a malformed id) is a 404.

    `light` leaves out the row data (for the progress bar, polled every second).
    """
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("No such import.") from None
    imports = UserImport.objects.for_org(org).select_related("created_by", "org")
    if light:
        imports = imports.defer("rows", "row_errors", "results")
    found = imports.filter(public_id=public_id).first()
    if found is None:
        raise Http404("No such import.")
    return found
