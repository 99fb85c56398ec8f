"""The training doctor: finds, explains and proposes fixes for backpropagation failures."""

from .findings import KINDS, SEVERITIES, Finding, make_finding, worst

__all__ = ["KINDS", "SEVERITIES", "Finding", "make_finding", "worst"]
