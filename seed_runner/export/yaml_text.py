"""Documents as YAML a person can read: keys in the order written, multi-line strings as literal blocks."""

from __future__ import annotations

from typing import Any, Iterable

import yaml


class _Dumper(yaml.SafeDumper):
    pass


# Line breaks to YAML that PyYAML writes raw in a plain, single-quoted or literal scalar: read back, they change.
_OTHER_BREAKS = ("\x85", "\u2028", "\u2029")


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(c in value for c in _OTHER_BREAKS):  # double quotes escape them
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value and not any(c in value for c in "\r\t") and value == value.rstrip(" "):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _string)


def to_yaml(document: Any) -> str:
    """One YAML document."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def to_yaml_stream(documents: Iterable[Any]) -> str:
    """Several YAML documents, separated by ``---``."""
    return yaml.dump_all(list(documents), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120,
                         explicit_start=True)
