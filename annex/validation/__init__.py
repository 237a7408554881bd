"""validation — a submission → located issues: pandera schemas over its lines, the line rules,
the comparison with the template its ministry was sent; batch reads files in the worker pool.
"""

from annex.validation.batch import read_and_validate
from annex.validation.validate import Reference, validate_batch

__all__ = ["Reference", "read_and_validate", "validate_batch"]
