"""Template pieces of the console's member page about second factors (docs/mfa-admin.md)."""

from django import template

from directory.models import User
from identity.mfa.admin_selectors import MfaSummary, user_mfa_summary

register = template.Library()


@register.simple_tag
def member_mfa_summary(member: User) -> MfaSummary:
    """The kinds and counts of a member's second factors: `{% member_mfa_summary member as mfa %}`."""
    return user_mfa_summary(user=member)
