"""`manage.py account_unlock EMAIL`: lift a user's sign-in lock (an operator's action, audited)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.selectors import user_get_by_email
from security.selectors import account_locked_until
from security.services import account_unlock


class Command(BaseCommand):
    help = "Lift the sign-in lock of the account with this email and forget its failed attempts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args, email: str, **options) -> None:
        user = user_get_by_email(email=email)
        if user is None:
            raise CommandError(f"No account has the email {email}.", returncode=2)
        was_locked = account_locked_until(user=user) is not None
        if not account_unlock(user=user, actor=None):
            self.stdout.write(f"{user.email} has no failed attempts or lock to lift; nothing changed.")
            return
        self.stdout.write(f"{user.email} unlocked." if was_locked else
                          f"{user.email} was not locked; its failed attempts are forgotten.")
