"""`manage.py audit_purge [--org SLUG] [--days N]`: remove old audit events, leaving an anchoring purge event."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.integrity import chain_label
from audit.services import PurgeResult, audit_purge, audit_retention_purge
from config.exceptions import DomainError
from orgs.models import Organization

PLATFORM = "-"


class Command(BaseCommand):
    help = (
        "Purge audit events older than each organization's retention (and the platform's, "
        "GATEHOUSE_AUDIT_PLATFORM_RETENTION_DAYS), as the daily job does. --org SLUG (or '-' for the "
        "platform's events) with --days N purges that chain's events older than N days; --days 0 purges "
        "every event so far. Each purge leaves an audit.purged event that anchors what remains, so "
        "audit_verify still passes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="SLUG", help="one organization's chain ('-': the platform's)")
        parser.add_argument("--days", type=int, help="older than this many days (default: the org's retention)")

    def handle(self, *args, org: str | None, days: int | None, **options) -> None:
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.", returncode=2)
        if org is None:
            if days is not None:
                raise CommandError("--days needs --org: each organization has its own retention.", returncode=2)
            results = audit_retention_purge()
        else:
            organization = None
            if org.strip() != PLATFORM:
                organization = Organization.objects.filter(slug=org.strip().lower()).first()
                if organization is None:
                    raise CommandError(f"There is no organization with the slug “{org}”.", returncode=2)
            if days is None:
                days = organization.audit_retention_days if organization else None
                if days is None:
                    raise CommandError("This chain keeps its events for ever; pass --days to purge it anyway.",
                                       returncode=2)
            try:
                results = [audit_purge(org=organization, days=days)]
            except DomainError as exc:
                raise CommandError(exc.message, returncode=1) from None
        for result in results:
            self.stdout.write(_line(result))


def _line(result: PurgeResult) -> str:
    label = chain_label(result.chain)
    if result.anchor is None:
        return f"{label}: nothing old enough to purge"
    return f"{label}: purged {result.purged} events through seq {result.through_seq}; anchor event {result.anchor.pk}"
