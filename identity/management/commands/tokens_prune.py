"""manage.py tokens_prune: delete expired and spent OAuth token rows now, as the periodic job does."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.token_housekeeping import tokens_prune


class Command(BaseCommand):
    help = ("Delete expired and spent access tokens, refresh tokens, ID tokens, grants and authorization "
            "records in batches, and print how many of each went.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=None, metavar="N",
                            help="rows per delete statement (default GATEHOUSE_TOKENS_PRUNE_BATCH_SIZE)")
        parser.add_argument("--max-batches", type=int, default=None, metavar="N",
                            help="statements per kind of row in this run (default GATEHOUSE_TOKENS_PRUNE_MAX_BATCHES)")

    def handle(self, *args, batch: int | None, max_batches: int | None, **options) -> None:
        for name, value in (("--batch", batch), ("--max-batches", max_batches)):
            if value is not None and value < 1:
                raise CommandError(f"{name} must be at least 1.", returncode=2)
        result = tokens_prune(batch_size=batch, max_batches=max_batches)
        for table, count in result.deleted.items():
            self.stdout.write(f"{table:<24}{count:>12,} deleted")
        self.stdout.write(f"{'total':<24}{result.total:>12,} deleted in {result.seconds:.1f} s")
        if result.unfinished:
            # Not an error: the cap keeps one run short; running again (or the next job) goes on.
            self.stdout.write(f"More remain ({', '.join(result.unfinished)}): run it again to go on.")
