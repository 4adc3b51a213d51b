"""The pooling engine: pure functions of arrays, matched to R's metafor.

Arrays carry a leading batch axis ``(B, K)`` with a boolean mask of the studies in each
analysis, so one fit, leave-one-out, subgroups and simulation share one code path.
Importing this package loads neither matplotlib nor pandas.
"""

from metaview.engine.rma import RmaFit, fit_rma
from metaview.engine.tau2 import estimate_tau2, q_profile

__all__ = ["RmaFit", "estimate_tau2", "fit_rma", "q_profile"]
