"""Template pieces that other pages embed: the passkey section of /account/security/ and the passkey
choice of the second-factor sign-in step."""

from django import template

register = template.Library()


@register.inclusion_tag("passkeys/_account_section.html", takes_context=True)
def passkey_account_section(context):
    return {"request": context.get("request")}


@register.inclusion_tag("passkeys/_second_factor_choice.html", takes_context=True)
def passkey_second_factor_choice(context):
    return {"request": context.get("request")}
