"""metaview: literature-comparison meta-analysis of proportions and landmark survival.

The statistics match R's metafor; see ``metaview.engine`` for the engine and
``metaview.io`` for the study file format.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
