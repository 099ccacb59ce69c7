"""`manage.py mfa_reset EMAIL`: remove every second factor of an account (an operator's action, audited and
mailed), e.g. for the last platform operator, who has nobody in the console to ask."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.selectors import user_get_by_email
from identity.mfa.admin_services import user_mfa_reset


class Command(BaseCommand):
    help = "Remove the authenticator apps, passkeys and recovery codes of the account with this email."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args, email: str, **options) -> None:
        user = user_get_by_email(email=email)
        if user is None:
            raise CommandError(f"No account has the email {email}.", returncode=2)
        removed = user_mfa_reset(user=user, actor=None).removed
        if not removed.anything:
            self.stdout.write(f"{user.email} has no second factor; nothing changed.")
            return
        codes = "no recovery codes" if removed.recovery_codes_left is None else \
            f"{removed.recovery_codes_left} unused recovery codes"
        self.stdout.write(f"Reset the two-step verification of {user.email}: removed {removed.authenticator_apps} "
                          f"authenticator apps, {removed.passkeys} passkeys and {codes}. They were told by email.")
