"""The kubelet's variable expansion, for tests of the Kubernetes export (what a container really gets)."""

from __future__ import annotations


def kubelet_expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's expansion of ``$(NAME)`` in args and env values (k8s.io/kubernetes
    third_party/forked/golang/expansion.Expand): ``$$`` is ``$``, ``$(NAME)`` a defined variable's value (an
    undefined one is left as written), any other ``$`` is itself."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end >= 0:
                    name = text[i + 2:end]
                    out.append(env.get(name, f"$({name})"))
                    i = end + 1
                    continue
                out.append("$(")
                i += 2
                continue
            out.append("$" + nxt)
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)
