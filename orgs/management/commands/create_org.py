"""`manage.py create_org SLUG NAME`: create an organization as the system."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from config.exceptions import DomainError
from orgs.services import organization_create


class Command(BaseCommand):
    help = (
        "Create an organization and print its slug. The slug is 1-50 lowercase letters, digits and "
        "hyphens, not a reserved word; it appears in console addresses (/console/SLUG/). "
        "Exits with status 2, writing nothing, when the slug is malformed, reserved or taken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="short identifier, e.g. acme")
        parser.add_argument("name", help='display name, e.g. "Acme Corp"')

    def handle(self, *args, slug: str, name: str, **options) -> None:
        try:
            with transaction.atomic():
                org = organization_create(slug=slug, name=name, actor=None)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from None
        # Only the slug, so scripts can capture it: ORG=$(manage.py create_org acme "Acme Corp").
        self.stdout.write(org.slug)
