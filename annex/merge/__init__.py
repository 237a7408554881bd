"""merge — reconcile 再掲, merge the accepted submissions into last year's master by ownership,
and the change and reconciliation reports.
"""

from annex.merge.merge import Conflict, MergeResult, merge
from annex.merge.reconcile import ReconcileResult, reconcile
from annex.merge.reports import change_sheets, reconciliation_sheets

__all__ = ["Conflict", "MergeResult", "ReconcileResult", "change_sheets", "merge", "reconcile", "reconciliation_sheets"]
