"""Seed jobs for other engines: a CWL ``CommandLineTool`` (``cwl``) and a Kubernetes ``batch/v1`` Job
(``kubernetes``), each carrying the Seed runtime contract. Pure: a manifest in, a document out."""

from .cwl import cwl_tool
from .cwl_command import UnsupportedCommand
from .cwl_workflow import UnsupportedPipeline, cwl_workflow

__all__ = ["UnsupportedCommand", "UnsupportedPipeline", "cwl_tool", "cwl_workflow"]
