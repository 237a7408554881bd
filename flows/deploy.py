"""`annex serve`: the deployments with their schedules (Asia/Tokyo), served from this process.

- annual-consolidation, distribute: no schedule (run from the UI or `annex run`); the annual run
  stops before publishing and waits for the secretariat's approval;
- intake: every 15 minutes (the flow itself does nothing outside the collection window);
- reminders: 09:00 on working days (the flow picks the slot in force; a slot that falls on a
  weekend goes out on Monday).

Each deployment admits one run at a time (a second is cancelled); the workspace's flock guards
the same thing across processes and survives a crashed holder.
"""

from __future__ import annotations

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron

from annex.workspace.layout import Workspace
from flows.annual import annual_consolidation
from flows.distribute import distribute
from flows.intake import intake
from flows.reminders import send_reminders

TIMEZONE = "Asia/Tokyo"
INTAKE_CRON = "*/15 * * * *"
REMINDERS_CRON = "0 9 * * 1-5"


def deployments(ws: Workspace) -> list:
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    parameters = {"workspace": str(ws.root)}
    return [
        # the production annual run stops before publishing and waits for the secretariat (a paused run with a form)
        annual_consolidation.to_deployment(
            name="annual", parameters={**parameters, "review": True}, concurrency_limit=one_at_a_time
        ),
        distribute.to_deployment(name="distribute", parameters=parameters, concurrency_limit=one_at_a_time),
        intake.to_deployment(
            name="intake",
            parameters=parameters,
            concurrency_limit=one_at_a_time,
            schedules=[Cron(INTAKE_CRON, timezone=TIMEZONE)],
        ),
        send_reminders.to_deployment(
            name="reminders",
            parameters=parameters,
            concurrency_limit=one_at_a_time,
            schedules=[Cron(REMINDERS_CRON, timezone=TIMEZONE)],
        ),
    ]


def serve_workspace(ws: Workspace) -> None:
    serve(*deployments(ws))
