"""sync: push a local build directory to the asset bucket and tell the CDN webhook."""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import time
from pathlib import Path

from tools.remote import RemoteError, Uploader, notify_webhook

log = logging.getLogger("sync")

MAX_RETRIES = 3
RETRY_DELAY_S = 2.0


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def upload_with_retry(uploader: Uploader, path: Path, key: str) -> None:
    for attempt in range(1, MAX_RETRIES + 1):
        try:
            uploader.put(path, key)
            return
        except RemoteError as exc:
            if attempt == MAX_RETRIES:
                raise
            log.warning("upload of %s failed (%s), attempt %d/%d", key, exc, attempt, MAX_RETRIES)
            time.sleep(RETRY_DELAY_S)


def plan(local_root: Path, remote_index: dict[str, str]) -> tuple[list[Path], list[str]]:
    to_upload, seen = [], set()
    for path in sorted(local_root.rglob("*")):
        if not path.is_file():
            continue
        key = path.relative_to(local_root).as_posix()
        seen.add(key)
        if remote_index.get(key) != file_digest(path):
            to_upload.append(path)
    to_delete = sorted(set(remote_index) - seen)
    return to_upload, to_delete


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sync")
    parser.add_argument("source", type=Path)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--delete", action="store_true", help="remove remote files that are gone locally")
    parser.add_argument("--webhook", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    uploader = Uploader(args.bucket)
    to_upload, to_delete = plan(args.source, uploader.index())
    for path in to_upload:
        upload_with_retry(uploader, path, path.relative_to(args.source).as_posix())
    if args.delete:
        for key in to_delete:
            uploader.delete(key)
    if args.webhook:
        notify_webhook(args.webhook, uploaded=len(to_upload), deleted=len(to_delete) if args.delete else 0)
    log.info("%d uploaded, %d deleted", len(to_upload), len(to_delete) if args.delete else 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
