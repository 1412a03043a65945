"""YAML read with limits, for files that come from users: scenarios, studies.

PyYAML's safe loader builds only plain data, but it still takes whatever size the text
asks for: nesting ten thousand deep ends in a RecursionError, a few aliases of aliases
("billion laughs") make a document of billions of nodes that everything after the
loader walks, a 5,000-digit integer is a ValueError deep in int(), and a key given
twice is silently the last one. Here each of those is refused at once with the line,
the column and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


@dataclass(frozen=True, slots=True)
class YamlLimits:
    max_chars: int = 1_000_000  # a scenario is a few kilobytes
    max_depth: int = 40  # of nested mappings and lists
    max_aliases: int = 100  # uses of an anchor (*name)
    max_nodes: int = 200_000  # values in the document once every alias is expanded
    max_digits: int = 30  # of a number: floats beyond 1e30 are inf or nonsense anyway


class YamlRefused(ValueError):
    """A YAML text refused before it is used; the message names where and why."""


def _where(node: Node | None, loader: yaml.SafeLoader | None = None) -> str:
    mark = node.start_mark if node is not None else (loader.get_mark() if loader is not None else None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(unknown place)"


class _BoundedLoader(yaml.SafeLoader):
    limits = YamlLimits()

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self.limits.max_aliases:
                raise YamlRefused(f"{_where(None, self)}: more than {self.limits.max_aliases} aliases")
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                raise YamlRefused(f"{_where(None, self)}: nested deeper than {self.limits.max_depth} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":  # "<<" may repeat a merged key
                key = self.construct_object(key_node)
                if key in seen:
                    first = seen[key].start_mark.line + 1
                    raise YamlRefused(f"{_where(key_node)}: key {key!r} given twice (first at line {first})")
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        self._short(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: ScalarNode) -> float:
        self._short(node)
        return super().construct_yaml_float(node)

    def _short(self, node: ScalarNode) -> None:
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > self.limits.max_digits:
            raise YamlRefused(f"{_where(node)}: a number of {digits} digits (at most {self.limits.max_digits})")


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)
_BoundedLoader.add_constructor("tag:yaml.org,2002:float", _BoundedLoader.construct_yaml_float)
def _mapping(loader: Any, node: Any) -> Any:
    """A mapping built like SafeLoader's (lazily, for recursive anchors), duplicate keys
    refused."""
    data: dict[Any, Any] = {}
    yield data
    data.update(loader.construct_mapping(node))


_BoundedLoader.add_constructor("tag:yaml.org,2002:map", _mapping)


def _expanded_size(root: Node, limit: int) -> int:
    """How many nodes the document holds once its aliases are expanded, counted with
    each node's size worked out once: an alias bomb is found without expanding it."""
    sizes: dict[int, int] = {}
    order: list[Node] = []
    stack: list[Node] = [root]
    visiting: set[int] = set()
    while stack:  # children before parents, without recursion
        node = stack.pop()
        if id(node) in sizes or id(node) in visiting:
            continue
        visiting.add(id(node))
        order.append(node)
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    for node in reversed(order):
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        size = 1 + sum(sizes.get(id(child), 0) for child in children)
        sizes[id(node)] = min(size, limit + 1)
    return sizes.get(id(root), 0)


def load_yaml(text: str, limits: YamlLimits = YamlLimits()) -> Any:
    """The data of one YAML document, or YamlRefused saying where and why."""
    if len(text) > limits.max_chars:
        raise YamlRefused(f"{len(text):,} characters (at most {limits.max_chars:,})")
    loader_class = type("_Limited", (_BoundedLoader,), {"limits": limits})
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        size = _expanded_size(root, limits.max_nodes)
        if size > limits.max_nodes:
            raise YamlRefused(f"{_where(root)}: more than {limits.max_nodes:,} values once its aliases are expanded")
        return loader.construct_document(root)
    finally:
        loader.dispose()


def read_text_bounded(path: Path, limits: YamlLimits = YamlLimits()) -> str:
    """A YAML file's text, read no further than the limit: a path to a device that never
    ends (/dev/zero) or a file of gigabytes is refused, not read whole."""
    with path.open("rb") as f:
        raw = f.read(limits.max_chars * 4 + 1)  # UTF-8: at most four bytes a character
    text = raw.decode("utf-8")
    if len(raw) > limits.max_chars * 4 or len(text) > limits.max_chars:
        raise YamlRefused(f"more than {limits.max_chars:,} characters (at most {limits.max_chars:,})")
    return text
