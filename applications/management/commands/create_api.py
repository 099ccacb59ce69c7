"""`manage.py create_api`: register an API (resource server) for an org, grant its scopes to applications,
and show its introspection secret once."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from applications.api_services import CreatedApi, api_create, application_api_scopes_set
from applications.models import Api, Application
from config.exceptions import DomainError
from orgs.models import Organization


class Command(BaseCommand):
    help = (
        "Register an API (a resource server) in an organization: its identifier URI is the tokens' audience "
        "and the resource value, and it defines scopes (--scope NAME=DESCRIPTION, at least one). Prints the "
        "API's client id and its introspection client secret, which is stored hashed and shown only this "
        "once. --grant CLIENT_ID grants all the new API's scopes to that application of the same "
        "organization. Exits with status 2, writing nothing, on an unknown organization or application, "
        "a malformed or taken identifier, a bad or taken scope, a bad format or a lifetime out of range."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="SLUG", required=True, help="the organization that owns the API")
        parser.add_argument("--name", required=True, help="the name shown in the console")
        parser.add_argument("--identifier", metavar="URI", required=True,
                            help="an absolute https URI, unique across this Gatehouse: the tokens' aud")
        parser.add_argument("--scope", dest="scopes", action="append", default=[], metavar="NAME=DESCRIPTION",
                            help="a scope the API defines, with the description shown on consent; repeat")
        parser.add_argument("--description", default="", help="what the API is (optional)")
        # Not argparse choices or type=int: a bad value must exit 2 with our message under call_command too.
        parser.add_argument("--format", dest="token_format", default=Api.TokenFormat.JWT, metavar="FORMAT",
                            help="jwt (RFC 9068, the default) or opaque (checked by introspection)")
        parser.add_argument("--lifetime", default=str(Api.DEFAULT_LIFETIME), metavar="SECONDS",
                            help=f"access-token lifetime in seconds (default {Api.DEFAULT_LIFETIME})")
        parser.add_argument("--grant", dest="grants", action="append", default=[], metavar="CLIENT_ID",
                            help="an application of the same organization to grant every scope of the API; repeat")
        parser.add_argument("--json", action="store_true",
                            help="print one JSON object: id, client_id, client_secret, identifier, org, name, "
                                 "token_format, access_token_lifetime, scopes, granted")

    def handle(self, *args, **options) -> None:
        scopes = [self._scope(value) for value in options["scopes"]]
        lifetime = self._lifetime(options["lifetime"])
        try:
            with transaction.atomic():
                org = Organization.objects.filter(slug=options["org"].strip().lower()).first()
                if org is None:
                    raise CommandError(f"No organization with the slug “{options['org']}”.", returncode=2)
                created = api_create(org=org, name=options["name"], identifier=options["identifier"], scopes=scopes,
                                     token_format=options["token_format"].strip().lower(),
                                     access_token_lifetime=lifetime, description=options["description"],
                                     actor=None)
                granted = []
                for client_id in dict.fromkeys(options["grants"]):
                    application = Application.objects.for_org(org).filter(client_id=client_id).first()
                    if application is None:
                        raise CommandError(f"No application with the client id “{client_id}” in {org.slug}.",
                                           returncode=2)
                    application_api_scopes_set(
                        application=application, actor=None,
                        scopes=[*application.api_scopes.all(), *created.api.scopes.all()])
                    granted.append(client_id)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from None
        # Printed after commit, so a secret is never shown for an API that was rolled back.
        output = self._render_json(created, granted) if options["json"] else self._render_text(created, granted)
        self.stdout.write(output)

    @staticmethod
    def _scope(value: str) -> tuple[str, str]:
        name, separator, description = value.partition("=")
        if not separator:
            raise CommandError(f"--scope “{value}” needs the form NAME=DESCRIPTION, e.g. "
                               "orders:read=Read your orders.", returncode=2)
        return name.strip(), description.strip()

    @staticmethod
    def _lifetime(value: str) -> int:
        try:
            return int(value.strip())
        except ValueError:
            raise CommandError(f"--lifetime “{value}” is not a whole number of seconds.", returncode=2) from None

    @staticmethod
    def _render_json(created: CreatedApi, granted: list[str]) -> str:
        api = created.api
        return json.dumps({"id": api.pk, "client_id": api.client_id, "client_secret": created.client_secret,
                           "identifier": api.identifier, "org": api.org.slug, "name": api.name,
                           "token_format": api.token_format, "access_token_lifetime": api.access_token_lifetime,
                           "scopes": {scope.name: scope.description for scope in api.scopes.order_by("name")},
                           "granted": granted})

    @staticmethod
    def _render_text(created: CreatedApi, granted: list[str]) -> str:
        api = created.api
        lines = [f"Registered the API “{api.name}” ({api.identifier}) in {api.org.slug}: "
                 f"{api.token_format} tokens living {api.access_token_lifetime} seconds.",
                 f"scopes:        {' '.join(api.scopes.order_by('name').values_list('name', flat=True))}"]
        if granted:
            lines.append(f"granted to:    {' '.join(granted)}")
        lines += [f"client_id:     {api.client_id}",
                  f"client_secret: {created.client_secret}",
                  "The client id and secret authenticate the API at the introspection endpoint. Store the "
                  "secret now: it is kept only as a hash and cannot be shown again."]
        return "\n".join(lines)
