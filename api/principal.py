"""The caller of the management API, as every view sees it (request.auth)."""

from dataclasses import dataclass, field

from applications.models import ApiKey, Application
from directory.models import User
from orgs.models import Organization


@dataclass(frozen=True)
class ApiPrincipal:
    """A caller of the management API. `actor` is who the services record (the key's creator; None for a
    key an operator made with manage.py, recorded as the system)."""

    org: Organization | None  # None: a platform key (operators' endpoints only)
    permissions: frozenset[str]
    actor: User | None
    api_key: ApiKey | None = None
    application: Application | None = None
    label: str = field(default="")

    def has(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def credential(self) -> dict[str, str | int]:
        """Which credential acted, as the audit log records it beside the actor: never the secret, only
        what an admin needs to find the key (or the application) in the console."""
        if self.api_key is not None:
            return {"kind": "api_key", "id": self.api_key.pk, "name": self.api_key.name,
                    "prefix": self.api_key.prefix}
        if self.application is not None:
            return {"kind": "client", "id": self.application.pk, "name": self.application.name,
                    "client_id": self.application.client_id}
        return {"kind": "unknown", "label": self.label}
