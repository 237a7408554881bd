"""distribute — plan and write each ministry's pre-filled template from master(Y-1)."""

from annex.distribute.template import TemplatePlan, plan_templates, write_template

__all__ = ["TemplatePlan", "plan_templates", "write_template"]
