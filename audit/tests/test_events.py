"""One catalogue: every action the code records is listed in audit/events.py, and webhooks subscribe to it."""

import re
from pathlib import Path

from audit.events import ACTIONS, BY_NAME, WEBHOOK_EVENTS

ROOT = Path(__file__).resolve().parents[2]
APPS = ("orgs", "directory", "identity", "applications", "security", "audit", "emailqueue", "api", "webhooks",
        "config")
NAME = r'"([a-z_]+\.[a-z_]+)"'
# `action="x.y"`, `action="x.y" if … else "x.z"`, and module constants `ACTION = "x.y"`.
RECORDED = re.compile(rf'\baction\s*=\s*{NAME}(?:\s+if\b[^\n]*?\belse\s+{NAME})?|^ACTION\s*=\s*{NAME}', re.M)


def recorded_actions() -> dict[str, str]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for match in RECORDED.finditer(path.read_text()):
                for name in filter(None, match.groups()):
                    found[name] = str(path.relative_to(ROOT))
    return found


def test_every_recorded_action_is_in_the_catalogue():
    found = recorded_actions()
    assert len(found) > 50  # the scan itself works
    missing = {name: where for name, where in found.items() if name not in BY_NAME}
    assert missing == {}, "add these to audit/events.py"


def test_names_are_unique_and_shaped_noun_dot_past_verb():
    names = [action.name for action in ACTIONS]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", name) for name in names)


def test_webhook_events_cover_the_issue_list():
    names = {action.name for action in WEBHOOK_EVENTS}
    for expected in ("user.created", "user.updated", "user.disabled", "membership.created", "membership.updated",
                     "membership.suspended", "membership.removed", "group.member_added", "group.member_removed",
                     "application.created", "application.deleted", "session.ended", "account.locked"):
        assert expected in names
    # Nothing about the log itself or sign-in noise goes out.
    assert not names & {"login.failed", "login.succeeded", "audit.purged", "audit.exported"}
