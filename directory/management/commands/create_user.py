"""`manage.py create_user EMAIL`: create a user, optionally an operator or a member of one org."""

import sys
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from config.exceptions import AlreadyExists, DomainError
from directory.models import User
from directory.selectors import user_get_by_email
from directory.services import normalize_email, user_create
from identity.tokens import invitation_lifetime
from orgs.models import Membership, Organization
from orgs.services import member_invite, membership_create


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
        f"of that organization with --role (one of {', '.join(Membership.Role.values)}; default: member); "
        "with --org and no password the membership is an invitation, emailed with a link that sets the "
        "password. "
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
        if membership is not None and membership.status == Membership.Status.INVITED:
            hours = int(invitation_lifetime().total_seconds() // 3600)
            self.stdout.write(f"Invited to {membership.org.slug} as {membership.role}: an invitation was emailed "
                              f"to {user.email}; its link sets the password and is valid for {hours} hours.")
            return
        if membership is not None:
            self.stdout.write(f"Member of {membership.org.slug} as {membership.role}.")
        if password is None:
            self.stdout.write("No password was set: the account cannot sign in with a password until one is "
                              "set through an invitation or a password reset.")
        elif not user.email_verified:
            self.stdout.write(f"A link to verify the address was emailed to {user.email}; until it is used, "
                              "applications are told the address is not verified.")

    def _create(self, options: dict, password: str | None) -> tuple[User, Membership | None]:
        org = None
        if options["org"]:
            org = Organization.objects.filter(slug=options["org"].strip().lower()).first()
            if org is None:
                raise _usage_error(f"No organization with the slug “{options['org']}”.")
        role = options["role"] or Membership.Role.MEMBER
        if org is not None and password is None:
            # The invitation proves the mailbox and sets the first password (DESIGN.md).
            email = normalize_email(options["email"])
            if user_get_by_email(email=email) is not None:
                raise AlreadyExists(f"A user with the email {email} already exists.", field="email")
            membership = member_invite(org=org, email=email, role=role, actor=None, full_name=options["name"])
            return membership.user, membership
        user = user_create(email=options["email"], password=password, full_name=options["name"],
                           is_superuser=options["operator"], actor=None)
        if org is None:
            return user, None
        return user, membership_create(org=org, user=user, role=role, actor=None)
