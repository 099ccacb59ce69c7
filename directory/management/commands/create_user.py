"""`manage.py create_user EMAIL`: create a user, optionally an operator or a member of one org."""

import sys
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from config.exceptions import DomainError
from directory.models import User
from directory.services import user_create
from orgs.models import Membership, Organization
from orgs.services import membership_create


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _read_password(stdin: TextIO) -> str:
    # One line, so `echo "$PW" | manage.py create_user ... --password-stdin` works; only the line
    # ending is dropped because spaces may be part of the password.
    password = stdin.readline().rstrip("\r\n")
    if not password:
        raise _usage_error("--password-stdin was given but standard input held no password.")
    return password


class Command(BaseCommand):
    help = (
        "Create a user. Without --password or --password-stdin the account has no usable password "
        "until one is set through an invitation or a reset. With --org the user also becomes a member "
        f"of that organization with --role (one of {', '.join(Membership.Role.values)}; default: member). "
        "--operator makes a platform operator, who belongs to no organization. "
        "Exits with status 2, writing nothing, on a malformed or taken email, a weak password, an "
        "unknown organization or role."
    )
    # Tests pass a StringIO as stdin through call_command.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="full name")
        password = parser.add_mutually_exclusive_group()
        password.add_argument(
            "--password",
            help="initial password (visible in the process list and shell history; prefer --password-stdin)",
        )
        password.add_argument("--password-stdin", action="store_true",
                              help="read the initial password from the first line of standard input")
        parser.add_argument("--org", metavar="SLUG", help="also make the user a member of this organization")
        parser.add_argument("--role", metavar="ROLE",
                            help=f"role in --org: {', '.join(Membership.Role.values)} (default: member)")
        parser.add_argument("--operator", action="store_true",
                            help="make a platform operator (superuser); cannot be combined with --org")

    def handle(self, *args, **options) -> None:
        if options["role"] and not options["org"]:
            raise _usage_error("--role needs --org: a role is held in one organization.")
        if options["operator"] and options["org"]:
            raise _usage_error("An operator belongs to no organization; drop --org or --operator.")
        password = options["password"]
        if options["password_stdin"]:
            password = _read_password(options.get("stdin") or sys.stdin)
        if password == "":
            raise _usage_error("--password is empty; leave it out to create an account without a password.")

        try:
            with transaction.atomic():
                user, membership = self._create(options, password)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from None

        # Printed after commit, so nothing claims success for a rolled-back write.
        kind = "operator" if user.is_superuser else "user"
        self.stdout.write(f"Created {kind} {user.email}.")
        if membership is not None:
            self.stdout.write(f"Member of {membership.org.slug} as {membership.role}.")
        if password is None:
            self.stdout.write("No password was set: the account cannot sign in with a password until one is "
                              "set through an invitation or a password reset.")

    def _create(self, options: dict, password: str | None) -> tuple[User, Membership | None]:
        org = None
        if options["org"]:
            org = Organization.objects.filter(slug=options["org"].strip().lower()).first()
            if org is None:
                raise _usage_error(f"No organization with the slug “{options['org']}”.")
        user = user_create(email=options["email"], password=password, full_name=options["name"],
                           is_superuser=options["operator"], actor=None)
        if org is None:
            return user, None
        role = options["role"] or Membership.Role.MEMBER
        return user, membership_create(org=org, user=user, role=role, actor=None)
