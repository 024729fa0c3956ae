"""JUnit XML, the test report CI systems read natively (Jenkins' junit step, GitLab's ``artifacts:reports:junit``,
GitHub actions such as dorny/test-reporter and mikepenz/action-junit-report).

Generic: a suite is a list of ``JUnitCase`` (name, classname, status, seconds, message, details, and the
optional output), whoever made it (`seed test`, `seed conformance`). The shape is the common denominator of those
readers, within the Jenkins xunit plugin's junit-10.xsd (which it checks every report against)::

    <testsuites name tests failures errors time>
      <testsuite name tests failures errors skipped time timestamp hostname>
        <properties><property name value/></properties>
        <testcase name classname time>
          <failure message type>details</failure>  |  <error message type>details</error>  |  <skipped message/>
          <system-out>...</system-out> <system-err>...</system-err>
        </testcase>

Built with ``xml.etree.ElementTree``; every text is first made XML-safe (characters XML 1.0 cannot carry, such as
control characters and lone surrogates, become U+FFFD), so any message a job or a case produces gives a
document every reader parses. Pure: ``junit_xml`` returns bytes, ``write_junit`` writes them atomically.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable, Literal, Mapping, NamedTuple

from ..runtime.atomic import write_text_to_user_path

__all__ = ["JUnitCase", "STATUSES", "junit_xml", "write_junit", "xml_safe"]

Status = Literal["passed", "failed", "error", "skipped"]
STATUSES = ("passed", "failed", "error", "skipped")

# XML 1.0's Char production, negated: what no XML document may hold, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_MESSAGE = 1000
"""A ``message`` attribute is one line, cut to this many characters (the details hold the rest)."""


class JUnitCase(NamedTuple):
    name: str
    classname: str
    status: Status
    seconds: float
    message: str = ""
    """One line: why it failed, errored or was skipped."""
    details: str = ""
    """The element's text: every reason, where to look."""
    stdout: str | None = None
    """``<system-out>``."""
    stderr: str | None = None
    """``<system-err>``."""
    kind: str | None = None
    """The ``type`` attribute of ``<failure>``/``<error>`` (default: the status)."""


def xml_safe(text: object) -> str:
    """``text`` with every character XML 1.0 cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", str(text))


def _one_line(text: str) -> str:
    text = " ".join(xml_safe(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _seconds(value: float) -> str:
    return f"{max(0.0, _finite(value)):.3f}"


def junit_xml(cases: Iterable[JUnitCase | tuple], *, suite: str, timestamp: str | None = None,
              hostname: str | None = None, properties: Mapping[str, str] | None = None,
              seconds: float | None = None) -> bytes:
    """The JUnit XML document of one suite (UTF-8, with its XML declaration).

    ``cases`` may be plain tuples in ``JUnitCase`` order. A status outside ``STATUSES`` is a ValueError (a bug
    of the caller, not a report to write). ``seconds``: the suite's wall time (default: the cases' sum, which
    is more than the wall time when they ran side by side). ``timestamp``: ISO 8601, when the suite started.
    """
    items = [case if isinstance(case, JUnitCase) else JUnitCase(*case) for case in cases]
    for case in items:
        if case.status not in STATUSES:
            raise ValueError(f"JUnit status {case.status!r} is not one of {', '.join(STATUSES)}")
    counts = {status: sum(1 for case in items if case.status == status) for status in STATUSES}
    total = _seconds(sum(_finite(c.seconds) for c in items) if seconds is None else seconds)
    summary = {"tests": str(len(items)), "failures": str(counts["failed"]), "errors": str(counts["error"]),
               "skipped": str(counts["skipped"]), "time": total}
    # No skipped on <testsuites>: the Jenkins xunit plugin checks reports against its junit-10.xsd, which
    # refuses it there (the <testsuite> says it).
    root = ET.Element("testsuites", {"name": xml_safe(suite), **{k: v for k, v in summary.items() if k != "skipped"}})
    attributes = {"name": xml_safe(suite), **summary,
                  "hostname": xml_safe(hostname if hostname is not None else socket.gethostname())}
    if timestamp:
        attributes["timestamp"] = xml_safe(timestamp)
    element = ET.SubElement(root, "testsuite", attributes)
    if properties:
        holder = ET.SubElement(element, "properties")
        for name, value in properties.items():
            ET.SubElement(holder, "property", {"name": xml_safe(name), "value": xml_safe(value)})
    for case in items:
        testcase = ET.SubElement(element, "testcase", {"name": xml_safe(case.name),
                                                       "classname": xml_safe(case.classname),
                                                       "time": _seconds(case.seconds)})
        if case.status == "skipped":
            ET.SubElement(testcase, "skipped", {"message": _one_line(case.message)})
        elif case.status in ("failed", "error"):
            tag = "failure" if case.status == "failed" else "error"
            outcome = ET.SubElement(testcase, tag, {"message": _one_line(case.message),
                                                    "type": xml_safe(case.kind or case.status)})
            outcome.text = xml_safe(case.details or case.message)
        if case.stdout:
            ET.SubElement(testcase, "system-out").text = xml_safe(case.stdout)
        if case.stderr:
            ET.SubElement(testcase, "system-err").text = xml_safe(case.stderr)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _finite(value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return value if value == value and abs(value) != float("inf") else 0.0


def write_junit(path: str | Path, cases: Iterable[JUnitCase | tuple], **options: object) -> Path:
    """Write ``junit_xml(cases, **options)`` to ``path`` atomically (a reader never sees half a report);
    the folder is created. Raises OSError when it cannot be written."""
    path = Path(path)
    data = junit_xml(cases, **options)  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_to_user_path(Path(path), data.decode("utf-8"))
    return path
