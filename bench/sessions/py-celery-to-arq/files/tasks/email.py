"""E-mail tasks. Each one is small: the heavy lifting is in notify.mailer."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from celery.exceptions import Retry

from notify import mailer, store
from notify.errors import PermanentBounce, TransientSMTPError

log = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5, default_retry_delay=30, acks_late=True)
def send_email(self, to: str, template: str, context: dict) -> str:
    """Render a template and send it. Retries on transient SMTP errors, with backoff."""
    try:
        message_id = mailer.send(to, template, context)
    except TransientSMTPError as exc:
        delay = self.default_retry_delay * (2 ** self.request.retries)
        log.warning("smtp error for %s, retry in %ss: %s", to, delay, exc)
        raise self.retry(exc=exc, countdown=delay)
    except PermanentBounce:
        store.mark_bounced(to)
        return "bounced"
    store.record_sent(to, template, message_id)
    return message_id


@shared_task
def send_daily_digest() -> int:
    """Queue one digest e-mail per subscriber who had activity yesterday."""
    yesterday = date.today() - timedelta(days=1)
    count = 0
    for user in store.users_with_activity(yesterday):
        send_email.delay(user.email, "digest", {"day": yesterday.isoformat(), "user_id": user.id})
        count += 1
    log.info("queued %d digests", count)
    return count


@shared_task(bind=True)
def purge_bounced_addresses(self) -> int:
    """Forget addresses that bounced permanently more than 30 days ago. Idempotent."""
    try:
        return store.purge_bounced(older_than=timedelta(days=30))
    except store.LockTimeout as exc:
        # another worker is purging: try again later rather than pile up
        raise self.retry(exc=exc, countdown=300) from exc


@shared_task(bind=True, max_retries=3)
def send_welcome(self, user_id: int) -> str:
    """Send the welcome mail once the user has confirmed their address. Calls send_email inline."""
    user = store.get_user(user_id)
    if not user.confirmed:
        # recieve the confirmation first; check again in ten minutes
        raise Retry(when=600)
    return send_email.apply(args=(user.email, "welcome", {"name": user.name})).get()
