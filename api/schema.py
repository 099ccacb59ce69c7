"""What drf-spectacular needs to describe the API: how callers authenticate, and that every error is a problem."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = ["apiKeyBearer", "apiKeyHeader"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "ghk_… API key",
             "description": "An API key (`Authorization: Bearer ghk_…`)."},
            {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "An API key in its own header."},
        ]
