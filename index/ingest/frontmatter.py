"""YAML front matter of Markdown files, read so that no front matter can hurt the reader.

Only a few short fields are used (title, date, id, source, url), so the loader keeps every
scalar as text (no timestamps that raise on "2024-13-45", no integers of thousands of digits)
and refuses aliases: a few hundred bytes of nested aliases expand to gigabytes once a value
is turned into text, and the expansion holds the interpreter for minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import Node

from index.errors import InputError

# "\r" allowed before each "\n": files saved on Windows end their lines with CRLF.
_FRONT_MATTER_RE = re.compile(r"\A---[ \t\r]*\n(.*?\n)---[ \t\r]*(?:\n|\Z)", re.DOTALL)
# Real front matter is a few hundred bytes; this leaves room and bounds the pure-Python YAML
# parser (about 30 KB/s on dense mappings) to well under a second.
MAX_FRONT_MATTER_CHARS = 16 * 1024
# PyYAML's scanner takes time quadratic in the nesting of flow collections ("[[[[..."): 17 KB
# of brackets took 4 s. Real front matter nests a list or two.
MAX_FLOW_DEPTH = 32
_FLOW_RE = re.compile(r"[\[\]{}]")


class _FrontMatterLoader(yaml.BaseLoader):
    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ComposerError(
                None, None, "aliases (*name) are not allowed in front matter", event.start_mark
            )
        return super().compose_node(parent, index)


@dataclass(frozen=True, slots=True)
class FrontMatter:
    meta: dict[str, Any]
    end: int


def read_front_matter(text: str, origin: str) -> FrontMatter | None:
    """The front matter at the head of `text`, or None when there is none."""
    if not text.startswith("---"):
        return None
    front = _FRONT_MATTER_RE.match(text[: MAX_FRONT_MATTER_CHARS + 16])
    if front is None:
        if _FRONT_MATTER_RE.match(text):
            raise InputError(
                f"{origin}: front matter too large (limit {MAX_FRONT_MATTER_CHARS} characters)"
            )
        return None
    if _flow_depth(front.group(1)) > MAX_FLOW_DEPTH:
        raise InputError(f"{origin}: bad YAML front matter (nested too deeply)")
    try:
        loaded = yaml.load(front.group(1), Loader=_FrontMatterLoader)
    except yaml.YAMLError as exc:
        raise InputError(f"{origin}: bad YAML front matter ({_one_line(exc)})") from None
    except RecursionError:
        raise InputError(f"{origin}: bad YAML front matter (nested too deeply)") from None
    return FrontMatter(meta=loaded if isinstance(loaded, dict) else {}, end=front.end())


def _flow_depth(yaml_text: str) -> int:
    """The deepest nesting of brackets and braces (quoted ones counted too: an upper bound)."""
    depth = deepest = 0
    for bracket in _FLOW_RE.findall(yaml_text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _one_line(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem and exc.problem_mark:
        return f"{exc.problem}, line {exc.problem_mark.line + 1}"
    return " ".join(str(exc).split())[:300]
