"""annex — the domain of the 統合イノベーション戦略 別添 pipeline. Never imports Prefect."""

__version__ = "0.1.0"
