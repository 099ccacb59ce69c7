"""`manage.py audit_verify [--org SLUG]`: check the audit hash chains; exit 0 when all hold, 1 at a broken link."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.integrity import chain_label, chains_verify
from orgs.models import Organization


class Command(BaseCommand):
    help = (
        "Check every audit chain (each organization's and the platform's), or one organization's: each "
        "event's hash, each link, the purge anchors and the chain's head. Exits 0 when every chain holds "
        "(printing each head, to keep somewhere else), 1 naming the first broken link, 2 for an unknown org."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", metavar="SLUG", help="check only this organization's chain")

    def handle(self, *args, org: str | None, **options) -> None:
        organization = None
        if org:
            organization = Organization.objects.filter(slug=org.strip().lower()).first()
            if organization is None:
                raise CommandError(f"There is no organization with the slug “{org}”.", returncode=2)
        broken = 0
        for report in chains_verify(org=organization):
            label = chain_label(report.chain)
            if report.ok:
                self.stdout.write(f"ok      {label}: {report.events} events, head seq {report.head_seq} "
                                  f"{report.head_hash or '-'}")
            else:
                broken += 1
                self.stdout.write(f"BROKEN  {label}: {report.problem}")
        if broken:
            raise CommandError(f"{broken} audit chain(s) broken.", returncode=1)
