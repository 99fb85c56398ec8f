"""The training doctor: finds, explains and proposes fixes for backpropagation failures.

``check_static`` looks at a model before training; ``Doctor`` is a callback that probes a
run and diagnoses it, ``watch`` does the same in a PyTorch loop; ``diagnose_records``
applies the rules to a stream of probe records from any framework; ``render`` prints
findings for people, ``Finding.to_dict`` for tools.
(The submodule ``sigmalab.doctor.diagnose`` trains and diagnoses a whole run file.)
"""

from .callback import Doctor
from .findings import KINDS, SEVERITIES, Finding, make_finding, worst
from .report import render
from .rules import diagnose_records
from .static import check_static
from .torch_watch import TorchDoctor, watch

__all__ = [
    "KINDS",
    "SEVERITIES",
    "Doctor",
    "Finding",
    "TorchDoctor",
    "check_static",
    "diagnose_records",
    "make_finding",
    "render",
    "watch",
    "worst",
]
