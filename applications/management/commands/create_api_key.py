"""`manage.py create_api_key`: an operator's API key for an org's management API, printed once."""

import json
from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from applications.apikey_services import api_key_create
from applications.models import ApiKey, Application
from config.exceptions import DomainError
from orgs.models import Organization


class Command(BaseCommand):
    help = (
        "Create an API key of an organization (--org) or of the platform (--platform: operators' endpoints) for "
        "the management API (/api/v1/) and print it once: only its "
        "hash is stored. Scopes are console permission names (members.view, groups.manage, …; see "
        "docs/api.md). The key acts as the system, not as a person: the audit log records it so. "
        "--app CLIENT_ID binds the key to an application of the organization (it may then call /api/v1/app/…). "
        "--expires DATE (YYYY-MM-DD) ends it at the end of that day (UTC); --allow-ip CIDR limits the addresses "
        "it may be used from. Exits with status 2, writing nothing, on an unknown organization or "
        "application, an unknown scope, a past or malformed date or a bad CIDR."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--org", metavar="SLUG", help="the organization the key belongs to")
        where.add_argument("--platform", action="store_true",
                           help="a platform key for /api/v1/platform/… (scopes platform.view, platform.manage)")
        parser.add_argument("--name", required=True, help="what uses the key, e.g. “HR sync job”")
        parser.add_argument("--scopes", nargs="+", required=True, metavar="SCOPE",
                            help="one or more permission names, e.g. members.view groups.view")
        parser.add_argument("--app", metavar="CLIENT_ID", default=None,
                            help="bind the key to this application of the organization")
        parser.add_argument("--expires", metavar="DATE", default=None, help="last day the key works, YYYY-MM-DD")
        parser.add_argument("--allow-ip", dest="allow_ips", nargs="+", action="extend", default=[], metavar="CIDR",
                            help="addresses or CIDR networks the key may be used from (default: any)")
        parser.add_argument("--json", action="store_true",
                            help="print one JSON object: id, key, prefix, org, name, scopes, application, "
                                 "expires_at, allowed_ips")

    def handle(self, *args, **options) -> None:
        org = None
        if not options["platform"]:
            org = Organization.objects.filter(slug=options["org"].strip().lower()).first()
            if org is None:
                raise CommandError(f"No organization with the slug “{options['org']}”.", returncode=2)
        elif options["app"] is not None:
            raise CommandError("A platform key belongs to no application; leave out --app.", returncode=2)
        application = None
        if org is not None and options["app"] is not None:
            application = Application.objects.for_org(org).filter(client_id=options["app"].strip()).first()
            if application is None:
                raise CommandError(f"No application with the client id “{options['app']}” in {org.slug}.",
                                   returncode=2)
        expires_at = self._expires_at(options["expires"])
        scopes = [scope for value in options["scopes"] for scope in value.replace(",", " ").split()]
        try:
            api_key, raw_key = api_key_create(org=org, actor=None, request=None, name=options["name"], scopes=scopes,
                                              expires_at=expires_at, allowed_ips=options["allow_ips"],
                                              application=application, system=True)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from None
        # Printed after the commit (api_key_create is atomic), so a key is never shown for a rolled-back row.
        render = self._render_json if options["json"] else self._render_text
        self.stdout.write(render(api_key, raw_key))

    @staticmethod
    def _expires_at(value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise CommandError(f"--expires “{value}” is not a date like 2027-01-31.", returncode=2) from None
        # The end of that day in UTC: the key works through the whole of the day named.
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)

    @staticmethod
    def _render_json(api_key: ApiKey, raw_key: str) -> str:
        return json.dumps({
            "id": api_key.pk, "key": raw_key, "prefix": api_key.prefix,
            "org": api_key.org.slug if api_key.org else None,
            "name": api_key.name, "scopes": api_key.scopes,
            "application": api_key.application.client_id if api_key.application else None,
            "expires_at": api_key.expires_at.isoformat() if api_key.expires_at else None,
            "allowed_ips": api_key.allowed_ips,
        })

    @staticmethod
    def _render_text(api_key: ApiKey, raw_key: str) -> str:
        owner = api_key.org.slug if api_key.org else "the platform"
        lines = [f"Created the API key “{api_key.name}” of {owner} with scopes {' '.join(api_key.scopes)}."]
        if api_key.application is not None:
            lines.append(f"application:  {api_key.application.client_id}")
        if api_key.expires_at is not None:
            lines.append(f"expires:      {api_key.expires_at:%Y-%m-%d %H:%M} UTC")
        if api_key.allowed_ips:
            lines.append(f"allowed from: {' '.join(api_key.allowed_ips)}")
        lines += [f"key:          {raw_key}",
                  "Send it as `Authorization: Bearer <key>` or `X-Api-Key: <key>`. Store it now: it is kept "
                  "only as a hash and cannot be shown again."]
        return "\n".join(lines)
