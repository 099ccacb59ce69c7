"""Renderers: JSON, and the same JSON under application/problem+json for clients that ask for errors only."""

from rest_framework.renderers import JSONRenderer


class ProblemJSONRenderer(JSONRenderer):
    media_type = "application/problem+json"
