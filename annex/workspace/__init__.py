"""workspace — the use cases: every function that takes a Workspace (the folder a secretariat
works in) lives here, and it is what tasks/ and the CLI call. Stage packages below it take data
and paths; only this package knows where things live in a workspace.
"""

from annex.workspace.layout import Workspace

__all__ = ["Workspace"]
