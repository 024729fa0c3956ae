"""Seed jobs for other engines: a CWL ``CommandLineTool`` (``cwl``) and a Kubernetes ``batch/v1`` Job
(``kubernetes``), each carrying the Seed runtime contract. Pure: a manifest in, a document out."""

from .cwl import cwl_tool
from .cwl_command import UnsupportedCommand

__all__ = ["UnsupportedCommand", "cwl_tool"]
