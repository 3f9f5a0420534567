"""YAML front matter of a Markdown article, read safely: size, nesting and aliases are
bounded before PyYAML sees them (a few hundred bytes can otherwise take seconds or
expand to millions of characters). Apart from index.readers so that each stays short."""

from __future__ import annotations

import re

import yaml

from index.decoding import Skip

FRONT_MATTER_MAX_CHARS = 16 * 1024  # real front matter is a few lines; a bomb is not
FRONT_MATTER_MAX_DEPTH = 20  # PyYAML is recursive and slow on deep nesting

_FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases: a few hundred bytes of nested ``*alias``
    references expand to millions of characters (a "billion laughs"), and front matter
    has no use for them."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in front matter", mark
            )
        return super().compose_node(parent, index)


def _nesting_depth(yaml_text: str) -> int:
    """How deep brackets and block-list dashes nest, over-counted (quotes are not
    parsed): checked before PyYAML, which takes seconds on a few thousand levels."""
    depth = deepest = 0
    for ch in yaml_text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    dashes = max((len(re.match(r"[-\s]*", line).group(0).split()) for line in
                  yaml_text.split("\n")), default=0)  # fmt: skip
    return max(deepest, dashes)


def split_front_matter(text: str) -> tuple[dict, str]:
    """(the front matter's fields, the text after it); ({}, text) when there is none.
    Raises Skip with the line of the problem."""
    meta: dict = {}
    m = _FRONT_MATTER_RE.match(text)
    if m:
        if len(m.group(1)) > FRONT_MATTER_MAX_CHARS:
            raise Skip(f"front matter is over {FRONT_MATTER_MAX_CHARS // 1024} KB", line=2)
        if _nesting_depth(m.group(1)) > FRONT_MATTER_MAX_DEPTH:
            raise Skip("front matter is nested too deeply", line=2)
        try:
            meta = yaml.load(m.group(1), Loader=_FrontMatterLoader) or {}  # a SafeLoader subclass
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 2
            problem = getattr(err, "problem", None) or "malformed"
            raise Skip(f"malformed front matter: {problem}", line=line) from None
        except RecursionError:
            raise Skip("front matter is nested too deeply", line=2) from None
        if not isinstance(meta, dict):
            raise Skip("front matter is not a mapping of fields", line=2)
        text = text[m.end() :]
    return meta, text
