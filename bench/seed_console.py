"""Seed a console-scale data set in PostgreSQL: one org with 100,000 members and 1,000,000 audit events.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/gh_scale SECRET_KEY=x GATEHOUSE_ENCRYPTION_KEYS=$(
        .venv/bin/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")
    .venv/bin/python bench/seed_console.py --members 100000 --events 1000000 [--reset]

Runs `migrate` first, then writes with PostgreSQL COPY (a couple of minutes for the full size):

- `scale-bigcorp` ("BigCorp"): `--members` members (85 % active, 10 % invited, 5 % suspended; 5 owners,
  40 admins, 30 auditors, the rest members) with realistic names and emails, 40 groups from a few
  dozen to a few thousand members (a member is in 0 to 3 groups), and `--events` audit events spread
  over the last 365 days: sign-ins and failures, sessions, tokens, member and group changes, by the
  members themselves, by admins or by the system, from a pool of IPv4 and IPv6 addresses;
- five other orgs (`scale-other-1..5`) with 2,000 members each (some of them BigCorp members too, as
  people in several orgs are) and 20,000 events each, so every list has other tenants' rows to skip.

The admin the benchmark signs in as is `admin@bigcorp.test` (password `bench-admin-password`).
Audit events are append-only in the ORM (no update, no save of an existing row); COPY only inserts,
which is the path the model allows. Each seeded org's events are hash-chained as audit_record would
chain them (audit/chain.py), with the chain's head row, so `manage.py audit_verify` holds on the seeded
data. The same `--seed` gives the same data.

Idempotent: when `scale-bigcorp` exists it says so and changes nothing; `--reset` deletes every
`scale-*` org and the users under `@*.bigcorp.test`/`@bigcorp.test`/`@scale-other-*.test` first,
with the rows that point at them.
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from types import SimpleNamespace  # noqa: E402

sys.path.insert(0, str(_HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from audit.chain import GENESIS, event_hash  # noqa: E402 (the standard library only: no Django set-up needed)

BIG_SLUG = "scale-bigcorp"
ADMIN_EMAIL = "admin@bigcorp.test"
ADMIN_PASSWORD = "bench-admin-password"
OTHER_ORGS = 5
OTHER_MEMBERS = 2_000
OTHER_EVENTS = 20_000
GROUPS = 40


def _words(text: str) -> list[str]:
    return text.split()



FIRST = _words("Aaliyah Aaron Abigail Adam Adrian Aiden Alexander Alice Amelia Andrea Andrew Anna Anthony Aria Arthur "
         "Ava Benjamin Bianca Brandon Caleb Camila Carlos Caroline Charles Charlotte Chloe Christopher Claire "
         "Daniel David Diana Dmitri Dylan Eleanor Elena Elijah Elizabeth Ella Emily Emma Ethan Eva Evelyn Fatima "
         "Felix Fiona Francesca Gabriel Grace Hannah Harper Hassan Henry Hiroshi Hugo Ian Isaac Isabella Ivan "
         "Jack Jacob James Jana Jasmine Javier John Jonas Joseph Julia Kai Karen Kenji Laila Laura Leo Liam "
         "Lily Lucas Lucy Luis Madison Maria Mark Mason Mateo Maya Mei Mia Michael Mila Mohammed Nadia Naomi "
         "Nathan Nina Noah Nora Oliver Olivia Omar Oscar Paul Penelope Priya Rafael Rebecca Riley Rosa Ruby "
         "Ryan Samuel Sara Sebastian Sofia Sophie Stella Thomas Valentina Victoria William Yusuf Zara Zoe")
LAST = _words("Abbott Adams Ahmed Alvarez Anderson Bailey Baker Barnes Becker Bell Bennett Brooks Brown Bui Campbell "
        "Carter Castillo Chen Clark Collins Cook Cooper Cruz Das Davies Davis Diaz Dubois Edwards Evans Fischer "
        "Flores Foster Garcia Gomez Gonzalez Gray Green Hall Hansen Harris Hayes Hernandez Hill Hoffmann Howard "
        "Hughes Ito Jackson James Jensen Johnson Jones Kaur Kelly Khan Kim King Kowalski Kumar Lam Larsen Lee "
        "Lewis Li Lopez Martin Martinez Meyer Miller Mitchell Moore Morales Morgan Morris Murphy Murray Nakamura "
        "Nelson Nguyen Novak Okafor Olsen Ortiz Parker Patel Perez Peters Petrov Phillips Price Ramirez Reed "
        "Reyes Richardson Rivera Roberts Robinson Rodriguez Rogers Rossi Russell Sanchez Sato Schmidt Scott "
        "Shah Silva Singh Smith Sokolov Stewart Sullivan Suzuki Tanaka Taylor Thomas Thompson Torres Tran Turner "
        "Walker Wang Ward Watson Weber White Williams Wilson Wong Wood Wright Wu Yamamoto Young Zhang")
DEPARTMENTS = _words("Engineering Sales Marketing Finance Legal Support Operations Security Design Research "
               "Product Data Platform Mobile Infrastructure HR Recruiting Facilities Procurement Training")
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]
# action → (weight, who acts: self | admin | system, target: user | membership | group | application | none)
ACTIONS = {
    "login.succeeded": (40, "self", "user"),
    "session.ended": (14, "self", "user"),
    "login.authorized": (12, "self", "application"),
    "login.failed": (8, "system", "user"),
    "token.refresh_refused": (2, "system", "application"),
    "password.changed": (3, "self", "user"),
    "password.reset_requested": (2, "system", "user"),
    "password.reset": (1, "self", "user"),
    "login.throttled": (1, "system", "none"),
    "account.locked": (1, "system", "user"),
    "account.unlocked": (1, "admin", "user"),
    "user.updated": (2, "admin", "user"),
    "invitation.sent": (2, "admin", "membership"),
    "invitation.accepted": (2, "self", "membership"),
    "membership.role_changed": (1, "admin", "membership"),
    "membership.suspended": (1, "admin", "membership"),
    "membership.reactivated": (1, "admin", "membership"),
    "group.member_added": (3, "admin", "group"),
    "group.member_removed": (1, "admin", "group"),
    "group.updated": (0.2, "admin", "group"),
    "application.updated": (0.2, "admin", "application"),
    "application.secret_rotated": (0.1, "admin", "application"),
    "password_policy.updated": (0.01, "admin", "none"),
}
APPLICATIONS = ["HR portal", "Wiki", "Expenses", "CRM", "Payroll", "Build server", "Chat", "Ticketing"]


def _setup() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ips(rng: random.Random, count: int) -> list[str]:
    ips = []
    for i in range(count):
        if i % 10 == 9:
            ips.append(str(ipaddress.IPv6Address((0x2001_0db8 << 96) | rng.getrandbits(64))))
        else:
            ips.append(f"{rng.choice((10, 172, 192, 203, 198))}.{rng.randrange(256)}.{rng.randrange(256)}."
                       f"{rng.randrange(1, 255)}")
    return ips


class Seeder:
    def __init__(self, cursor, rng: random.Random, now: datetime):
        self.cursor = cursor
        self.rng = rng
        self.now = now
        self.next_id = {table: self._max_id(table) + 1 for table in (
            "directory_user", "orgs_organization", "orgs_membership", "directory_group",
            "directory_groupmembership", "audit_auditevent")}

    def _max_id(self, table: str) -> int:
        self.cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 (fixed table names)
        return self.cursor.fetchone()[0]

    def ids(self, table: str, count: int) -> range:
        start = self.next_id[table]
        self.next_id[table] += count
        return range(start, start + count)

    def copy(self, table: str, columns: list[str], rows) -> int:
        n = 0
        with self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n

    def finish_sequences(self) -> None:
        for table in self.next_id:
            self.cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")

    def org(self, slug: str, name: str) -> int:
        (pk,) = self.ids("orgs_organization", 1)
        self.copy("orgs_organization",
                  ["id", "slug", "name", "status", "created_at", "updated_at", "notify_new_device_sign_in",
                   "mfa_policy", "session_max_age_minutes", "accent_color", "display_name", "lockout_threshold",
                   "mfa_grace_days", "api_keys_require_allowlist"],
                  [(pk, slug, name, "active", self.now - timedelta(days=1200), self.now, False, "off", None, "",
                    "", None, 7, False)])
        return pk

    def users(self, domain: str, count: int, admin_email: str | None = None, admin_hash: str = "!") -> list[tuple]:
        """(id, email, full name, created_at) of `count` new users; the first is `admin_email` if given."""
        rng, out, seen = self.rng, [], set()
        for i, pk in enumerate(self.ids("directory_user", count)):
            if i == 0 and admin_email:
                email, name = admin_email, "Bench Admin"
            else:
                first, last = rng.choice(FIRST), rng.choice(LAST)
                name = f"{first} {last}"
                local = f"{first}.{last}".lower()
                email = f"{local}@{domain}"
                n = 1
                while email.lower() in seen:
                    n += 1
                    email = f"{local}{n}@{domain}"
                # A few addresses as people typed them: the list and search must not depend on case.
                if rng.random() < 0.02:
                    email = email[0].upper() + email[1:]
            seen.add(email.lower())
            out.append((pk, email, name, self.now - timedelta(seconds=rng.randrange(3 * 365 * 86400))))
        self.copy("directory_user",
                  ["id", "password", "last_login", "public_id", "email", "full_name", "status", "email_verified",
                   "password_changed_at", "is_superuser", "created_at", "updated_at", "time_zone"],
                  ((pk, admin_hash if email == admin_email else "!", None, uuid.UUID(int=rng.getrandbits(128)),
                    email, name, "active", True, None, False, created, created, "UTC")
                   for pk, email, name, created in out))
        return out

    def memberships(self, org_id: int, users: list[tuple], *, owners: int, admins: int, auditors: int) -> None:
        rng = self.rng
        rows = []
        for i, (user_id, _, _, created) in enumerate(users):
            role = ("owner" if i < owners else "admin" if i < owners + admins
                    else "auditor" if i < owners + admins + auditors else "member")
            r = rng.random()
            status = "active" if i == 0 or r < 0.85 else "invited" if r < 0.95 else "suspended"
            joined = created + timedelta(seconds=rng.randrange(86400 * 30))
            rows.append((user_id, org_id, role, status, "" if rng.random() < 0.3 else f"E{user_id:07d}",
                         min(joined, self.now)))
        self.copy("orgs_membership",
                  ["id", "user_id", "org_id", "role", "status", "employee_id", "created_at", "updated_at"],
                  ((pk, *row, row[-1]) for pk, row in zip(self.ids("orgs_membership", len(rows)), rows,
                                                          strict=True)))

    def groups(self, org_id: int, users: list[tuple], count: int) -> list[tuple]:
        """`count` groups of very different sizes; each member is in 0 to 3 groups."""
        rng = self.rng
        names = [f"{dept} {suffix}" for suffix in ("", "leads", "EMEA", "Americas") for dept in DEPARTMENTS]
        groups = []
        for i, pk in enumerate(self.ids("directory_group", count)):
            name = names[i].strip()
            groups.append((pk, org_id, name, name.lower().replace(" ", "-"), "", self.now - timedelta(days=900)))
        self.copy("directory_group", ["id", "org_id", "name", "slug", "description", "created_at"], groups)
        # Zipf-like sizes: group k gets weight 1/(k+1), so a handful are huge and most are small.
        weights = [1 / (k + 1) for k in range(count)]
        pairs = set()
        for user_id, *_ in users:
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                pairs.add((rng.choices(groups, weights)[0][0], user_id))
        self.copy("directory_groupmembership", ["id", "group_id", "user_id", "created_at"],
                  ((pk, g, u, self.now - timedelta(days=rng.randrange(900)))
                   for pk, (g, u) in zip(self.ids("directory_groupmembership", len(pairs)), sorted(pairs),
                                         strict=True)))
        return groups

    def events(self, org_id: int, users: list[tuple], groups: list[tuple], count: int, admins: int) -> None:
        """`count` events over the last 365 days, ids increasing with time as an append-only log's are."""
        rng = self.rng
        names, weights = list(ACTIONS), [ACTIONS[a][0] for a in ACTIONS]
        admin_users = users[:admins]
        ips = _ips(rng, 5000)
        year = 365 * 86400 * 1_000_000
        offsets = sorted(rng.randrange(year) for _ in range(count))
        start = self.now - timedelta(microseconds=year)
        app_ids = {name: i + 1 for i, name in enumerate(APPLICATIONS)}

        def rows():
            for pk, offset, action in zip(self.ids("audit_auditevent", count), offsets,
                                          rng.choices(names, weights, k=count), strict=True):
                _, who, target = ACTIONS[action]
                # Most events are anyone's; a third belong to a few busy people (heavy users, scripts).
                subject = users[rng.randrange(len(users)) if rng.random() < 0.67
                                else int(rng.paretovariate(1.0) * 20) % len(users)]
                if who == "self":
                    actor_id, actor_label = subject[0], subject[1]
                elif who == "admin":
                    actor_id, actor_label = (a := rng.choice(admin_users))[0], a[1]
                else:
                    actor_id, actor_label = None, ""
                if target == "user":
                    t = ("directory.user", str(subject[0]), subject[1])
                elif target == "membership":
                    t = ("orgs.membership", str(subject[0]), f"{subject[1]} in BigCorp")
                elif target == "group":
                    g = rng.choice(groups)
                    t = ("directory.group", str(g[0]), g[2])
                elif target == "application":
                    app = rng.choice(APPLICATIONS)
                    t = ("applications.application", str(app_ids[app]), app)
                else:
                    t = ("", "", "")
                metadata = {"email": subject[1]} if action.startswith("login.") else {}
                event = SimpleNamespace(chain=org_id, seq=chain[0] + 1, prev_hash=chain[1], actor_label=actor_label,
                                        action=action, target_type=t[0], target_id=t[1], target_label=t[2],
                                        ip=rng.choice(ips), user_agent=rng.choice(USER_AGENTS), forwarded_for="",
                                        metadata=metadata, created_at=start + timedelta(microseconds=offset))
                event.hash = event_hash(event)
                chain[:] = [event.seq, event.hash]
                yield (pk, org_id, actor_id, actor_label, action, *t, event.ip, event.user_agent, "",
                       json.dumps(metadata), event.created_at, org_id, event.seq, event.prev_hash, event.hash)

        chain = [0, GENESIS]  # a seeded org is new: its chain starts here
        self.copy("audit_auditevent",
                  ["id", "org_id", "actor_id", "actor_label", "action", "target_type", "target_id", "target_label",
                   "ip", "user_agent", "forwarded_for", "metadata", "created_at", "chain", "seq", "prev_hash", "hash"],
                  rows())
        self.cursor.execute("INSERT INTO audit_auditchain (chain, seq, hash, listeners) VALUES (%s, %s, %s, 0)",
                            [org_id, *chain])


def reset(cursor) -> None:
    """Delete what a previous run seeded: the scale-* orgs, their users, and the rows pointing at them."""
    cursor.execute("SELECT id FROM orgs_organization WHERE slug LIKE 'scale-%'")
    orgs = [row[0] for row in cursor.fetchall()]
    cursor.execute("CREATE TEMP TABLE seeded_users AS SELECT id FROM directory_user "
                   "WHERE email ILIKE '%@bigcorp.test' OR email ILIKE '%@scale-other-%.test'")
    # Audit events refuse DELETE unless the transaction says it purges (audit/migrations/0006).
    cursor.execute("SET LOCAL gatehouse.audit_purge = 'on'")
    cursor.execute("DELETE FROM audit_auditevent WHERE org_id = ANY(%s) OR actor_id IN (SELECT id FROM seeded_users)",
                   [orgs])
    cursor.execute("SET LOCAL gatehouse.audit_purge = 'off'")
    cursor.execute("DELETE FROM audit_auditchain WHERE chain = ANY(%s)", [orgs])
    cursor.execute("DELETE FROM directory_groupmembership WHERE user_id IN (SELECT id FROM seeded_users) "
                   "OR group_id IN (SELECT id FROM directory_group WHERE org_id = ANY(%s))", [orgs])
    cursor.execute("DELETE FROM directory_group WHERE org_id = ANY(%s)", [orgs])
    cursor.execute("DELETE FROM orgs_membership WHERE org_id = ANY(%s) OR user_id IN (SELECT id FROM seeded_users)",
                   [orgs])
    # The benchmark's sign-ins leave sessions behind; nothing else points at the seeded users.
    cursor.execute("DELETE FROM identity_usersession WHERE user_id IN (SELECT id FROM seeded_users)")
    cursor.execute("DELETE FROM directory_user WHERE id IN (SELECT id FROM seeded_users)")
    cursor.execute("DELETE FROM orgs_organization WHERE id = ANY(%s)", [orgs])
    cursor.execute("DROP TABLE seeded_users")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reset", action="store_true", help="delete a previous run's data first")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        parser.error("set DATABASE_URL to a PostgreSQL database (this writes with COPY)")
    _setup()
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    started = time.monotonic()
    rng = random.Random(args.seed)
    now = datetime.now(UTC).replace(microsecond=0)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM orgs_organization WHERE slug = %s", [BIG_SLUG])
        if cursor.fetchone():
            if not args.reset:
                print(f"{BIG_SLUG} is already seeded; nothing to do (--reset to seed again).")
                return 0
            reset(cursor)
            print(f"reset: {time.monotonic() - started:.0f} s")
        seeder = Seeder(cursor.cursor, rng, now)
        big = seeder.org(BIG_SLUG, "BigCorp")
        users = seeder.users("bigcorp.test", args.members, ADMIN_EMAIL, make_password(ADMIN_PASSWORD))
        seeder.memberships(big, users, owners=5, admins=40, auditors=30)
        groups = seeder.groups(big, users, GROUPS)
        print(f"bigcorp: {len(users)} members, {len(groups)} groups ({time.monotonic() - started:.0f} s)")
        seeder.events(big, users, groups, args.events, admins=45)
        print(f"bigcorp: {args.events} events ({time.monotonic() - started:.0f} s)")
        for n in range(1, OTHER_ORGS + 1):
            org = seeder.org(f"scale-other-{n}", f"Other {n}")
            own = seeder.users(f"scale-other-{n}.test", OTHER_MEMBERS - 200)
            shared = rng.sample(users[100:], 200)  # people who belong to BigCorp too
            seeder.memberships(org, own + shared, owners=2, admins=5, auditors=3)
            other_groups = seeder.groups(org, own + shared, 5)
            seeder.events(org, own + shared, other_groups, OTHER_EVENTS, admins=7)
        seeder.finish_sequences()
        print(f"other orgs: {OTHER_ORGS} x {OTHER_MEMBERS} members, {OTHER_EVENTS} events "
              f"({time.monotonic() - started:.0f} s)")
    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        for table in seeder.next_id:
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"done in {time.monotonic() - started:.0f} s; sign in as {ADMIN_EMAIL} / {ADMIN_PASSWORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
