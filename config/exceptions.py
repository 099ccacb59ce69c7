"""The domain exceptions services raise; views, commands and the API translate them."""


class DomainError(Exception):
    """A rule of the domain refused the change. The message is for a person and says what to do."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class AlreadyExists(DomainError):
    pass


class NotAllowed(DomainError):
    pass
