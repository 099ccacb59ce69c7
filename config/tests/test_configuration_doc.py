"""docs/configuration.md lists every environment variable config/settings.py (and the web server's command,
config/server.py) reads, and nothing else reads the environment or falls back to a setting's default of its own."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = (ROOT / "config" / "settings.py").read_text()
SERVER = (ROOT / "config" / "server.py").read_text()
DOC = (ROOT / "docs" / "configuration.md").read_text()
PRODUCTION_CODE = [path for folder in ("config", "orgs", "directory", "identity", "applications", "audit",
                                        "emailqueue", "security")
                   for path in (ROOT / folder).rglob("*.py")
                   if "tests" not in path.parts and "migrations" not in path.parts]


def test_every_variable_settings_reads_is_documented():
    read = set(re.findall(r'env(?:\.[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]*)"', SETTINGS))
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", DOC, flags=re.MULTILINE))
    assert len(read) > 40  # the pattern still finds them
    read |= set(re.findall(r'os\.environ\.get\("([A-Z][A-Z0-9_]*)"\)', SERVER))
    assert {"WEB_CONCURRENCY", "WEB_THREADS"} <= read
    assert read - documented == set(), "read by config/settings.py but not in docs/configuration.md"
    assert documented - read == set(), "in docs/configuration.md but read nowhere"


def test_no_code_reads_a_setting_with_a_default_of_its_own():
    offenders = [f"{path.relative_to(ROOT)}:{number}"
                 for path in PRODUCTION_CODE if path.name != "settings.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r'getattr\(settings, "GATEHOUSE_', line) or "os.environ.get(\"GATEHOUSE_" in line]
    assert offenders == []
