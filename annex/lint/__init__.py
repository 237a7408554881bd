"""Notation lint (公用文 rules, the annex's house style, 表記ゆれ): pure functions over text and
over the master; the rules are the catalogue's (annex.model.rules, groups notation and annex)."""
