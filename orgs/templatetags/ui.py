"""The console's component tag: a shared template under templates/components/ that wraps the markup between its tags.

    {% component "table_card" title=_("Users") %}<table>…</table>{% endcomponent %}

renders templates/components/table_card.html with `title` and with `slot`, the rendered inner markup.
A value that is itself markup (a title with a link, a translated sentence with variables) goes in a
named fill instead of a key=value:

    {% component "page_header" %}{% fill "title" %}Import of <code>{{ name }}</code>{% endfill %}…{% endcomponent %}
`include` cannot wrap markup, and the page header, cards and toolbars all need to, so that every page
uses the same component rather than copying its markup.
"""

from django import template
from django.template import Engine
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.utils.safestring import mark_safe

register = template.Library()


class FillNode(template.Node):
    """Markup for one named value of the enclosing component; renders nothing where it stands."""

    def __init__(self, name: str, nodelist: NodeList):
        self.name = name
        self.nodelist = nodelist

    def render(self, context: Context) -> str:
        return ""


class ComponentNode(template.Node):
    def __init__(self, name: FilterExpression, kwargs: dict[str, FilterExpression], nodelist: NodeList):
        self.name = name
        self.kwargs = kwargs
        self.nodelist = nodelist

    def render(self, context: Context) -> str:
        values = {key: value.resolve(context) for key, value in self.kwargs.items()}
        # Fills and the slot are rendered in the page's context: they see the page's variables, not the component's.
        # Their output is template output, already autoescaped, so it is marked safe rather than escaped twice.
        rest = NodeList()
        for node in self.nodelist:
            if isinstance(node, FillNode):
                values[node.name] = mark_safe(node.nodelist.render(context).strip())  # noqa: S308
            else:
                rest.append(node)
        values["slot"] = mark_safe(rest.render(context))  # noqa: S308
        engine = context.template.engine if context.template is not None else Engine.get_default()
        component = engine.get_template(f"components/{self.name.resolve(context)}.html")
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


@register.tag
def fill(parser: Parser, token: Token) -> FillNode:
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError('{% fill %} takes one quoted name: {% fill "title" %}.')
    nodelist = parser.parse(("endfill",))
    parser.delete_first_token()
    return FillNode(bits[1][1:-1], nodelist)
