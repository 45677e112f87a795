"""Nightly uptime report: reads incidents from the status API and mails a summary."""

from __future__ import annotations

import os
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

import requests

STATUS_API = os.environ.get("STATUS_API", "https://status.internal/api/v2")
RECIPIENTS = os.environ.get("REPORT_TO", "ops@example.com").split(",")


def fetch_incidents(since: datetime) -> list[dict]:
    resp = requests.get(f"{STATUS_API}/incidents", params={"since": since.isoformat()}, timeout=30)
    resp.raise_for_status()
    return resp.json()["incidents"]


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def downtime_minutes(incidents: list[dict], window_start: datetime) -> float:
    total = timedelta()
    for inc in incidents:
        start = max(parse_ts(inc["started_at"]), window_start)
        end = parse_ts(inc["resolved_at"]) if inc.get("resolved_at") else datetime.now()
        if end > start:
            total += end - start
    return total.total_seconds() / 60


def format_report(incidents: list[dict], minutes: float) -> str:
    lines = [f"Downtime in the last 24 h: {minutes:.1f} min", ""]
    for inc in sorted(incidents, key=lambda i: i["started_at"]):
        lines.append(f"- {inc['started_at']}  {inc['service']}: {inc['title']}")
    return "\n".join(lines)


def send(body: str) -> None:
    msg = EmailMessage()
    msg["Subject"] = f"Uptime report {datetime.now():%Y-%m-%d}"
    msg["From"] = "reports@example.com"
    msg["To"] = ", ".join(RECIPIENTS)
    msg.set_content(body)
    with smtplib.SMTP(os.environ.get("SMTP_HOST", "localhost")) as smtp:
        smtp.send_message(msg)


def main() -> None:
    window_start = datetime.now() - timedelta(days=1)
    incidents = fetch_incidents(window_start)
    minutes = downtime_minutes(incidents, window_start)
    send(format_report(incidents, minutes))


if __name__ == "__main__":
    main()
