"""gatehouse-sdk: verify Gatehouse access tokens in a resource server (an API)."""

__version__ = "0.1.0"

from .errors import (  # noqa: E402 - __version__ first: http.py reads it
    ConfigurationError,
    GatehouseError,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidRequest,
    InvalidToken,
    MissingToken,
    ProviderUnavailable,
)
from .server import ResourceServer  # noqa: E402
from .token import AccessToken, TokenUser  # noqa: E402

__all__ = [
    "AccessToken",
    "ConfigurationError",
    "GatehouseError",
    "InsufficientScope",
    "InsufficientUserAuthentication",
    "InvalidRequest",
    "InvalidToken",
    "MissingToken",
    "ProviderUnavailable",
    "ResourceServer",
    "TokenUser",
    "__version__",
]
