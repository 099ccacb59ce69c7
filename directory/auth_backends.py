"""Who a session is signed in as, read with SQL built once.

Django reads the signed-in user through the session's backend (`get_user`) on every request that carries a
session. ModelBackend builds that query with the ORM each time, which costs several times what running it
does; this backend runs the same SELECT from SQL built once (config/compiled_queries.py) and decides the same
way (a disabled account is nobody). It authenticates nothing: Gatehouse checks passwords in
identity.services.password_check, and ModelBackend, listed after it, still answers authenticate() and
permissions, and reads sessions signed in before this backend existed.
"""

from typing import Any

from django.contrib.auth.backends import BaseBackend

from config.compiled_queries import CompiledQuery
from directory.models import User

# One row by primary key; User's default ordering (by email) would only add an ORDER BY.
_USER_BY_PK = CompiledQuery(lambda pk: User.objects.filter(pk=pk).order_by()[:1], -1)


class SessionUserBackend(BaseBackend):
    def get_user(self, user_id: Any) -> User | None:
        user: User | None = _USER_BY_PK.first(user_id)
        # As ModelBackend.user_can_authenticate: a disabled account is signed in as nobody.
        return user if user is not None and user.is_active else None
