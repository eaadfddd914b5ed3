"""The S3 sink for checkpoints: one object each, under Object Lock in compliance mode
(`aws.objects`), `<prefix><database>/<UTC time>.json`, kept for
WLPANEL_AUDIT_CHECKPOINT_S3_RETENTION_DAYS. Its calls go to the AWS call log like every other,
so each checkpoint's own PutObject is covered by the next checkpoint. Against the sandbox it is a
demonstration only: a sandbox reset deletes its objects.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings

from aws.objects import locked_object_put, newest_object_body


def _prefix(folder: str) -> str:
    return f"{settings.WLPANEL_AUDIT_CHECKPOINT_S3_PREFIX}{folder}/"


def s3_checkpoint_put(*, folder: str, taken_at: datetime, body: str) -> None:
    retain_until = datetime.now(UTC) + timedelta(days=settings.WLPANEL_AUDIT_CHECKPOINT_S3_RETENTION_DAYS)
    locked_object_put(
        region=settings.WLPANEL_AUDIT_CHECKPOINT_S3_REGION,
        bucket=settings.WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET,
        # Zero-padded UTC stamps: the newest checkpoint is the greatest key.
        key=f"{_prefix(folder)}{taken_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.json",
        body=body.encode(),
        retain_until=retain_until,
    )


def s3_checkpoint_latest(*, folder: str) -> str | None:
    """The body of the newest checkpoint in `folder`, or None."""
    body = newest_object_body(
        region=settings.WLPANEL_AUDIT_CHECKPOINT_S3_REGION,
        bucket=settings.WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET,
        prefix=_prefix(folder),
    )
    return body.decode() if body is not None else None
