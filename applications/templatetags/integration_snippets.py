"""`{% api_snippets api as snippets %}`: gatehouse-sdk snippets for a registered API's page."""

from django import template

from applications.models import Api
from applications.snippets import api_snippets as build_api_snippets

register = template.Library()


@register.simple_tag
def api_snippets(api: Api) -> dict[str, str]:
    return build_api_snippets(api)
