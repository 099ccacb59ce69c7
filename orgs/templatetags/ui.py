"""The console's component tag: a shared template under templates/components/ that wraps the markup between its tags.

    {% component "table_card" title=_("Users") %}<table>…</table>{% endcomponent %}

renders templates/components/table_card.html with `title` and with `slot`, the rendered inner markup.
`include` cannot wrap markup, and the page header, cards and toolbars all need to, so that every page
uses the same component rather than copying its markup.
"""

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.utils.safestring import mark_safe

register = template.Library()


class ComponentNode(template.Node):
    def __init__(self, name: FilterExpression, kwargs: dict[str, FilterExpression], nodelist: NodeList):
        self.name = name
        self.kwargs = kwargs
        self.nodelist = nodelist

    def render(self, context: Context) -> str:
        values = {key: value.resolve(context) for key, value in self.kwargs.items()}
        # The slot is rendered in the page's context, so it sees the page's variables, not the component's.
        values["slot"] = mark_safe(self.nodelist.render(context))
        component = context.template.engine.get_template(f"components/{self.name.resolve(context)}.html")
        with context.render_context.push_state(component, isolated_context=False), context.push(**values):
            return component.render(context)


@register.tag
def component(parser: Parser, token: Token) -> ComponentNode:
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("{% component %} needs the component's name.")
    kwargs = template.base.token_kwargs(bits[2:], parser)
    if len(kwargs) != len(bits) - 2:
        raise template.TemplateSyntaxError("{% component %} takes its values as key=value.")
    nodelist = parser.parse(("endcomponent",))
    parser.delete_first_token()
    return ComponentNode(parser.compile_filter(bits[1]), kwargs, nodelist)
