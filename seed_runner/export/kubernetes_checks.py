"""What the Kubernetes API server would refuse, or the kubelet would change, found at export time instead.

``kubernetes-validate`` checks the Job against the OpenAPI schema, which says nothing of names or paths: an
object name that is not a DNS name, or a ``subPath`` with ``..``, validates and is then refused by
``kubectl apply``. The kubelet also expands ``$(NAME)`` (and reduces ``$$`` to ``$``) in a container's ``args``
and in every ``env`` value, so a value is escaped before it is written there. Pure.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["kubelet_escape", "request_problems", "mount_path_problems", "label_name_problem", "subdomain_problem",
           "subpath_problem", "file_name_problem", "url_problem"]

# RFC 1123, as Kubernetes checks object names (k8s.io/apimachinery/pkg/util/validation).
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_LABEL_NAME = re.compile(_LABEL)
_SUBDOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def kubelet_escape(text: str) -> str:
    """``text`` as the kubelet gives it back: every ``$`` doubled (``$$`` is the kubelet's escape of ``$``)."""
    return text.replace("$", "$$")


def label_name_problem(what: str, value: str) -> str | None:
    """Why ``value`` is not a DNS label (a Job's name, a namespace), or None."""
    if len(value) <= 63 and _LABEL_NAME.fullmatch(value):
        return None
    return (f"{what} {value!r} is not a Kubernetes name: use at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit")


def subdomain_problem(what: str, value: str) -> str | None:
    """Why ``value`` is not a DNS subdomain (a claim's or a Secret's name), or None."""
    if len(value) <= 253 and _SUBDOMAIN.fullmatch(value):
        return None
    return (f"{what} {value!r} is not a Kubernetes name: use lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit")


def subpath_problem(what: str, value: str) -> str | None:
    """Why ``value`` cannot be a volume's ``subPath`` (absolute, or with a ``..``), or None."""
    if value.startswith("/") or ".." in value.split("/"):
        return f"{what} {value!r} must be a path inside the claim: relative, with no '..'"
    if any(ord(c) < 32 for c in value):
        return f"{what} {value!r} has a control character"
    return None


def file_name_problem(what: str, name: str) -> str | None:
    """Why ``name`` cannot be a staged input's file name (the job would see a folder, not a file), or None."""
    if name in ("", ".", ".."):
        return f"{what}: it names no file (its last part is {name!r}); name the file itself"
    return None


def url_problem(what: str, url: str) -> str | None:
    """Why the init container could not fetch ``url`` as written, or None."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return f"{what}: the URL has a space or a control character; percent-encode it (%20)"
    return None


def request_problems(request: Any) -> list[str]:
    """The names and paths of the request that the API server would refuse."""
    found = [label_name_problem("--name", request.name) if request.name is not None else None,
             label_name_problem("--namespace", request.namespace) if request.namespace is not None else None]
    for what, value in (("--input-claim", request.input_claim), ("--output-claim", request.output_claim),
                        ("--settings-secret", request.settings_secret)):
        if value is not None:
            found.append(subdomain_problem(what, value))
    for name, given in request.mounts.items():
        claim, _, subpath = given.partition(":")
        found.append(subdomain_problem(f"mount {name}: the claim", claim))
        found.append(subpath_problem(f"mount {name}: the sub-path", subpath) if subpath else None)
    if request.output_subpath is not None:
        found.append(subpath_problem("--output-subpath", request.output_subpath))
        if not request.output_claim:
            found.append("--output-subpath needs --output-claim: without a claim the outputs are in an emptyDir")
    for what, image in (("--image", request.image), ("--stager-image", request.stager_image)):
        if not image or any(c.isspace() or ord(c) < 32 for c in image):
            found.append(f"{what} {image!r} is not an image reference")
    return [problem for problem in found if problem]


def mount_path_problems(mounts: list[dict[str, Any]]) -> list[str]:
    """Two volumes at one path (a manifest's mount at /seed/outputs, say): the API server refuses the pod."""
    seen: dict[str, str] = {}
    found = []
    for mount in mounts:
        path = mount["mountPath"].rstrip("/") or "/"
        if path in seen and seen[path] != mount["name"]:
            found.append(f"two volumes are mounted at {path}: a mount of the manifest takes a path the runtime "
                         "contract uses")
        seen.setdefault(path, mount["name"])
    return found
