"""Reading a page's form the way a browser does: from its HTML, not from the view's template context."""

from html.parser import HTMLParser


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "input":
            self.inputs.append({name: value or "" for name, value in attrs})


def hidden_input(response, name: str) -> str:
    """The value a browser would submit for the first hidden input called `name` (entities decoded)."""
    parser = _Inputs()
    parser.feed(response.content.decode())
    for attrs in parser.inputs:
        if attrs.get("type") == "hidden" and attrs.get("name") == name:
            return attrs.get("value", "")
    raise AssertionError(f"no hidden input named {name!r} on the page")
