"""`manage.py create_application`: register an OIDC client for an org and show its secret once."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from applications.models import Application
from applications.services import CreatedApplication, application_create
from config.exceptions import DomainError
from orgs.models import Organization


class Command(BaseCommand):
    help = (
        "Register an application (an OIDC client) in an organization and print its client id and, for "
        "confidential kinds (web, machine), its client secret. The secret is stored hashed and shown only "
        "this once. Kinds: web (confidential, authorization code), spa and native (public, PKCE), machine "
        "(client credentials). web, spa and native need at least one --redirect-uri; machine takes none. "
        "Exits with status 2, writing nothing, on an unknown organization or kind, a missing or invalid "
        "redirect URI or back-channel logout URI, or a client id already in use."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="SLUG", required=True, help="the organization that owns the app")
        parser.add_argument("--name", required=True, help="display name shown on the consent and login pages")
        # Not argparse choices: a bad kind must exit 2 with our message under call_command too.
        parser.add_argument("--kind", required=True, metavar="KIND",
                            help=f"one of {', '.join(Application.Kind.values)}")
        parser.add_argument("--redirect-uri", dest="redirect_uris", action="append", default=[], metavar="URI",
                            help="an allowed redirect URI; repeat for several")
        parser.add_argument("--post-logout-redirect-uri", dest="post_logout_redirect_uris", action="append",
                            default=[], metavar="URI",
                            help="where RP-initiated logout may return (exact match); repeat for several")
        parser.add_argument("--allowed-origin", dest="allowed_origins", action="append", default=[],
                            metavar="ORIGIN", help="spa only: an origin allowed CORS on token/userinfo/revoke")
        parser.add_argument("--backchannel-logout-uri", dest="backchannel_logout_uri", default="", metavar="URI",
                            help="web, spa, native: where signed logout tokens are POSTed when a session the "
                                 "app was used in ends (https, or loopback http while developing)")
        parser.add_argument("--trusted", action="store_true",
                            help="a first-party app: its users are not asked for consent")
        parser.add_argument("--client-id", metavar="ID", help="a client id of your choice (default: generated)")
        parser.add_argument("--json", action="store_true",
                            help="print one JSON object: client_id, client_secret (or null), kind, org, name")

    def handle(self, *args, **options) -> None:
        try:
            with transaction.atomic():
                org = Organization.objects.filter(slug=options["org"].strip().lower()).first()
                if org is None:
                    raise CommandError(f"No organization with the slug “{options['org']}”.", returncode=2)
                created = application_create(
                    org=org, name=options["name"], kind=options["kind"].strip(),
                    redirect_uris=options["redirect_uris"], client_id=options["client_id"], actor=None,
                    post_logout_redirect_uris=options["post_logout_redirect_uris"],
                    allowed_origins=options["allowed_origins"], trusted=options["trusted"],
                    backchannel_logout_uri=options["backchannel_logout_uri"],
                )
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from None
        # Printed after commit, so a secret is never shown for an application that was rolled back.
        self.stdout.write(self._render_json(created) if options["json"] else self._render_text(created))

    @staticmethod
    def _render_json(created: CreatedApplication) -> str:
        app = created.application
        return json.dumps({"client_id": app.client_id, "client_secret": created.client_secret,
                           "kind": app.kind, "org": app.org.slug, "name": app.name})

    @staticmethod
    def _render_text(created: CreatedApplication) -> str:
        app = created.application
        lines = [f"Created {app.kind} application “{app.name}” in {app.org.slug}.",
                 f"client_id:     {app.client_id}"]
        if created.client_secret is None:
            lines.append("No client secret: this is a public client; it proves itself with PKCE.")
        else:
            lines += [f"client_secret: {created.client_secret}",
                      "Store the secret now: it is kept only as a hash and cannot be shown again."]
        return "\n".join(lines)
