"""Number formatting for tables, plots and reports: :mod:`metaview.display` under its older name."""

from metaview.display import _PLAIN_NUMBER_RE as _PLAIN_NUMBER_RE
from metaview.display import ENDPOINT_NAMES as ENDPOINT_NAMES
from metaview.display import FORMULA_STARTS as FORMULA_STARTS
from metaview.display import _pnum as _pnum
from metaview.display import _range as _range
from metaview.display import as_reported as as_reported
from metaview.display import csv_text as csv_text
from metaview.display import endpoint_at as endpoint_at
from metaview.display import endpoint_name as endpoint_name
from metaview.display import heterogeneity as heterogeneity
from metaview.display import interval_percent as interval_percent
from metaview.display import landmark as landmark
from metaview.display import method_line as method_line
from metaview.display import number as number
from metaview.display import percent as percent
from metaview.display import percent_bracket as percent_bracket
from metaview.display import percent_ci as percent_ci
from metaview.display import pvalue as pvalue
from metaview.display import summary_text as summary_text
from metaview.display import weight_percent as weight_percent
