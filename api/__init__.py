"""The management REST API at /api/v1/ (Django REST framework, drf-spectacular)."""
