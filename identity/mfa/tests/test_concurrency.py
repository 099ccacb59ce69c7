"""Codes under parallel requests on PostgreSQL (`services`): one code, one sign-in, however many race."""

import threading

import pytest
from django.db import connection, connections

from identity.mfa.models import RecoveryCodeSet, TotpDevice
from identity.mfa.services import CodeKind, mfa_verify_code
from identity.mfa.tests.support import code_at, enrol_totp, enrol_with_recovery

PARALLEL = 8


def _in_threads(fn) -> list:
    barrier = threading.Barrier(PARALLEL)
    results: list = []

    def run():
        barrier.wait()
        try:
            results.append(fn())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def shared_database(transactional_db):
    if connection.vendor == "sqlite":
        pytest.fail("a services test: run it with DATABASE_URL pointing at PostgreSQL (see .ci/run)")


@pytest.mark.services
def test_one_totp_code_sent_in_parallel_is_accepted_once(shared_database, counter_backend, org_member):
    device, totp = enrol_totp(org_member)
    code = code_at(totp)

    checks = _in_threads(lambda: mfa_verify_code(user=org_member, code=code, kind=CodeKind.TOTP))

    assert sum(check.ok for check in checks) == 1
    assert TotpDevice.objects.get(pk=device.pk).last_t >= 0


@pytest.mark.services
def test_one_recovery_code_sent_in_parallel_is_used_once(shared_database, counter_backend, org_member):
    _, codes = enrol_with_recovery(org_member)

    checks = _in_threads(lambda: mfa_verify_code(user=org_member, code=codes[0], kind=CodeKind.RECOVERY))

    assert sum(check.ok for check in checks) == 1
    assert RecoveryCodeSet.objects.get(user=org_member).codes.filter(used_at__isnull=False).count() == 1
