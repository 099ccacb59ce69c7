"""`manage.py rotate_signing_key [--overlap-seconds N] [--force] [--status]`: rotate or list signing keys."""

from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.models import AuditEvent
from config.exceptions import DomainError
from identity.models import SigningKey
from identity.signing import next_key_min_published_seconds, signing_key_rotate


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if moment else "-"


class Command(BaseCommand):
    help = (
        "Promote the next signing key to active, retire the active key (it stays in JWKS until the "
        "tokens it signed have expired, or --overlap-seconds if longer) and publish a new next key. "
        "Refuses, with exit status 2 and no change, while the next key has been published for less "
        "than the JWKS cache lifetime. --force is an emergency rotation for a compromised key: no wait, "
        "the old key leaves JWKS at once and the tokens issued while it was active are revoked. "
        "--status lists the keys and changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--overlap-seconds", type=int, default=None,
                            help="keep the retired key in JWKS at least this long")
        parser.add_argument("--force", action="store_true",
                            help="emergency rotation: drop the old key now and revoke its tokens")
        parser.add_argument("--status", action="store_true", help="list the keys and their states")

    def handle(self, *args, overlap_seconds: int | None, force: bool, status: bool, **options) -> None:
        if status:
            if force or overlap_seconds is not None:
                raise CommandError("--status changes nothing; run it without --force or --overlap-seconds.",
                                   returncode=2)
            self._status()
            return
        old_kid = SigningKey.objects.filter(state=SigningKey.State.ACTIVE).values_list("kid", flat=True).first()
        try:
            new_active = signing_key_rotate(actor=None, overlap_seconds=overlap_seconds, force=force)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from None
        event = AuditEvent.objects.filter(
            action="signing_key.rotated", target_type=new_active._meta.label_lower, target_id=str(new_active.pk)
        ).first()
        metadata = event.metadata if event else {}
        old_kid = metadata.get("old_kid", old_kid)
        old = SigningKey.objects.filter(kid=old_kid).first()
        if force:
            revoked = metadata.get("revoked", {})
            self.stdout.write(
                f"old kid: {old_kid} (retired and removed from JWKS; revoked {revoked.get('refresh_tokens', 0)} "
                f"refresh, {revoked.get('access_tokens', 0)} access and {revoked.get('id_tokens', 0)} ID tokens)"
            )
        else:
            self.stdout.write(f"old kid: {old_kid} (retired, in JWKS until {_when(old.verify_until if old else None)})")
        self.stdout.write(f"new kid: {new_active.kid} (active)")
        if metadata.get("next_kid"):
            self.stdout.write(f"next kid: {metadata['next_kid']} (published)")

    def _status(self) -> None:
        keys = list(SigningKey.objects.order_by("state", "-created_at"))
        if not keys:
            self.stdout.write("No signing keys yet: the first ones are made when a token or JWKS first needs one.")
            return
        wait = timedelta(seconds=next_key_min_published_seconds())
        now = timezone.now()
        for key in keys:
            if key.state == SigningKey.State.NEXT:
                detail = f"published {_when(key.published_at)}, may be promoted from {_when(key.published_at + wait)}"
            elif key.state == SigningKey.State.ACTIVE:
                detail = f"published {_when(key.published_at)}, active since {_when(key.activated_at)}"
            elif key.verify_until and key.verify_until <= now:
                detail = f"retired {_when(key.retired_at)}, out of JWKS since {_when(key.verify_until)} (pruned soon)"
            else:
                detail = f"retired {_when(key.retired_at)}, in JWKS until {_when(key.verify_until)}"
            self.stdout.write(f"{key.state:<8} {key.kid}  {detail}")
