"""The Argon2id hasher: OWASP's parameters, and at most GATEHOUSE_PASSWORD_HASHES_PER_WORKER hashes at once."""

import threading

from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, get_hasher, identify_hasher
from django.test import override_settings

from directory.hashers import OwaspArgon2PasswordHasher, password_hash_slots
from directory.tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def _argon2_encoded() -> str:
    hasher = get_hasher("argon2")
    return hasher.encode(PASSWORD, hasher.salt())


def _check_in_thread(encoded: str) -> tuple[threading.Thread, list[bool]]:
    answers: list[bool] = []
    thread = threading.Thread(target=lambda: answers.append(check_password(PASSWORD, encoded)), daemon=True)
    thread.start()
    return thread, answers


def test_argon2_hashes_use_owasp_parameters():
    encoded = _argon2_encoded()
    assert isinstance(identify_hasher(encoded), OwaspArgon2PasswordHasher)
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in encoded
    assert check_password(PASSWORD, encoded)
    assert not check_password(PASSWORD + "!", encoded)


def test_a_verify_waits_while_the_workers_hash_slot_is_taken(settings):
    settings.GATEHOUSE_PASSWORD_HASHES_PER_WORKER = 1
    encoded = _argon2_encoded()
    slots = password_hash_slots()
    with slots:  # another thread of this worker is hashing
        thread, answers = _check_in_thread(encoded)
        thread.join(timeout=0.5)  # a verify takes ~20 ms; waiting 25 times that shows it did not start
        assert thread.is_alive()
        assert answers == []
    thread.join(timeout=10)
    assert answers == [True]


def test_an_unknown_emails_stand_in_hash_waits_too(settings):
    settings.GATEHOUSE_PASSWORD_HASHES_PER_WORKER = 1
    hasher = get_hasher("argon2")
    done = threading.Event()
    with password_hash_slots():
        thread = threading.Thread(target=lambda: (hasher.encode(PASSWORD, hasher.salt()), done.set()), daemon=True)
        thread.start()
        assert not done.wait(timeout=0.5)
    assert done.wait(timeout=10)
    thread.join()


def test_more_slots_let_hashes_run_side_by_side(settings):
    settings.GATEHOUSE_PASSWORD_HASHES_PER_WORKER = 2
    encoded = _argon2_encoded()
    with password_hash_slots():  # one of two slots taken
        thread, answers = _check_in_thread(encoded)
        thread.join(timeout=10)
        assert answers == [True]


def test_a_hash_of_djangos_default_argon2_parameters_verifies_and_is_upgraded_when_next_checked(db):
    django_default = Argon2PasswordHasher()  # 100 MiB, parallelism 8
    user = UserFactory()
    user.password = django_default.encode(PASSWORD, django_default.salt())
    user.save(update_fields=["password"])
    assert "$m=102400,t=2,p=8$" in user.password
    assert isinstance(identify_hasher(user.password), OwaspArgon2PasswordHasher)

    with_owasp_first = [
        "directory.hashers.OwaspArgon2PasswordHasher", "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    with override_settings(PASSWORD_HASHERS=with_owasp_first):
        assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in user.password
    assert check_password(PASSWORD, user.password)
