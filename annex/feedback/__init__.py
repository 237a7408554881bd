"""feedback — the ministry's own workbook marked (検証結果 first, problem cells coloured and
commented), the 統合時の調整 sheet, and the content of the feedback and conflict e-mails.
"""

from annex.feedback.conflicts import add_conflict_sheet, compose_conflict_email
from annex.feedback.workbook import compose_feedback_email, write_feedback_workbooks

__all__ = ["add_conflict_sheet", "compose_conflict_email", "compose_feedback_email", "write_feedback_workbooks"]
