"""The Argon2id hasher: OWASP's parameters for new hashes, and every Argon2 hash verified by it."""

from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, get_hasher, identify_hasher
from django.test import override_settings

from directory.hashers import OwaspArgon2PasswordHasher
from directory.tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def test_argon2_hashes_use_owasp_parameters():
    hasher = get_hasher("argon2")
    encoded = hasher.encode(PASSWORD, hasher.salt())
    assert isinstance(identify_hasher(encoded), OwaspArgon2PasswordHasher)
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in encoded
    assert check_password(PASSWORD, encoded)
    assert not check_password(PASSWORD + "!", encoded)


def test_a_hash_of_djangos_default_argon2_parameters_verifies_and_is_upgraded_when_next_checked(db):
    django_default = Argon2PasswordHasher()  # 100 MiB, parallelism 8
    user = UserFactory()
    user.password = django_default.encode(PASSWORD, django_default.salt())
    user.save(update_fields=["password"])
    assert "$m=102400,t=2,p=8$" in user.password
    assert isinstance(identify_hasher(user.password), OwaspArgon2PasswordHasher)

    # The tests' settings put a fast hasher first; production's puts ours first, which decides the upgrade.
    with override_settings(PASSWORD_HASHERS=["directory.hashers.OwaspArgon2PasswordHasher"]):
        assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in user.password
    assert check_password(PASSWORD, user.password)
