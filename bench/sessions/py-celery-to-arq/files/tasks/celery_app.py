"""Celery application: broker, result backend, routing and the beat schedule."""

import os

from celery import Celery
from celery.schedules import crontab

BROKER_URL = os.environ.get("BROKER_URL", "redis://localhost:6379/0")
RESULT_BACKEND = os.environ.get("RESULT_BACKEND", "redis://localhost:6379/1")

app = Celery("notify", broker=BROKER_URL, backend=RESULT_BACKEND, include=["tasks.email", "tasks.reports"])

app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_routes={
        "tasks.email.*": {"queue": "email"},
        "tasks.reports.*": {"queue": "reports"},
    },
    beat_schedule={
        "daily-digest": {
            "task": "tasks.email.send_daily_digest",
            "schedule": crontab(hour=6, minute=30),
        },
        "purge-bounces": {
            "task": "tasks.email.purge_bounced_addresses",
            "schedule": crontab(minute=0, hour="*/4"),
        },
        "weekly-usage-report": {
            "task": "tasks.reports.weekly_usage",
            "schedule": crontab(day_of_week="mon", hour=7, minute=0),
        },
    },
)
