"""Turn an event's metadata (any JSON) into a tree the detail template renders as lists and tables."""

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

MAX_DEPTH = 6  # deeper than this is shown as compact text; audit metadata is never that deep in practice


@dataclass
class Node:
    """One value. `kind` picks the template: scalar, mapping (a <dl>), sequence (a <ul>) or change."""

    kind: str
    text: str = ""
    css: str = ""  # scalar type (null, bool, number, string, empty), for a muted style on "none"/"empty"
    items: list = field(default_factory=list)  # mapping: [(label, key, Node)]; sequence: [Node]
    rows: list = field(default_factory=list)  # change: [ChangeRow]


@dataclass
class ChangeRow:
    label: str  # "" for a change of a single value
    before: Node
    after: Node
    changed: bool


def label_for(key: str) -> str:
    """`tokens_revoked` → `Tokens revoked`; the raw key is kept beside it in the page."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else str(key)


def metadata_tree(metadata: Any) -> Node:
    """The whole metadata as one node; an object holding "before" and "after" gets a change table first."""
    return _node(metadata, depth=0)


def _node(value: Any, *, depth: int) -> Node:
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return _scalar(repr(value))
        return _mapping(value, depth=depth)
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return _scalar(repr(value))
        if not value:
            return Node(kind="scalar", text=_("none"), css="empty")
        return Node(kind="sequence", items=[_node(item, depth=depth + 1) for item in value])
    return _scalar(value)


def _scalar(value: Any) -> Node:
    if value is None:
        return Node(kind="scalar", text=_("none"), css="null")
    if isinstance(value, bool):
        return Node(kind="scalar", text=_("yes") if value else _("no"), css="bool")
    if isinstance(value, int | float):
        return Node(kind="scalar", text=str(value), css="number")
    if value == "":
        return Node(kind="scalar", text=_("empty"), css="empty")
    return Node(kind="scalar", text=str(value), css="string")


def _mapping(value: dict, *, depth: int) -> Node:
    items = []
    rest = dict(value)
    if "before" in rest and "after" in rest:
        items.append((_("Change"), "before → after", _change(rest.pop("before"), rest.pop("after"), depth=depth)))
    items.extend((label_for(key), str(key), _node(item, depth=depth + 1)) for key, item in rest.items())
    if not items:
        return Node(kind="scalar", text=_("none"), css="empty")
    return Node(kind="mapping", items=items)


def _change(before: Any, after: Any, *, depth: int) -> Node:
    """Before/after as table rows: one per field when both sides are objects, else a single row."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = list(before) + [key for key in after if key not in before]
        rows = [
            ChangeRow(label=label_for(key), before=_node(before.get(key), depth=depth + 2),
                      after=_node(after.get(key), depth=depth + 2),
                      changed=before.get(key) != after.get(key) or (key in before) != (key in after))
            for key in keys
        ]
    else:
        rows = [ChangeRow(label="", before=_node(before, depth=depth + 2), after=_node(after, depth=depth + 2),
                          changed=before != after)]
    return Node(kind="change", rows=rows)
