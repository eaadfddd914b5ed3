"""The S3 sink for checkpoints: one object each, under Object Lock in compliance mode, so nobody,
not even the account's root user, can delete or overwrite it before its retention ends.

The bucket must have been created with Object Lock enabled (S3 refuses to add it later). The
calls go through the AWS adapter, so they are in the AWS call log like every other. Against the
sandbox it is a demonstration only: a sandbox reset deletes its objects.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings

from aws.client import NO_CONTEXT, s3_client


def _s3_client():
    return s3_client(settings.WLPANEL_AUDIT_CHECKPOINT_S3_REGION, context=NO_CONTEXT)


def s3_checkpoint_put(*, folder: str, taken_at: datetime, body: str) -> str:
    """Store one checkpoint, locked for WLPANEL_AUDIT_CHECKPOINT_S3_RETENTION_DAYS; returns its key."""
    # Zero-padded UTC stamps: the newest checkpoint is the greatest key.
    key = f"{settings.WLPANEL_AUDIT_CHECKPOINT_S3_PREFIX}{folder}/{taken_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.json"
    _s3_client().put_object(
        Bucket=settings.WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET,
        Key=key,
        Body=body.encode(),
        ContentType="application/json",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=settings.WLPANEL_AUDIT_CHECKPOINT_S3_RETENTION_DAYS),
    )
    return key


def s3_checkpoint_latest(*, folder: str) -> str | None:
    """The body of the newest checkpoint in `folder`, or None."""
    client = _s3_client()
    bucket = settings.WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET
    newest = None
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{settings.WLPANEL_AUDIT_CHECKPOINT_S3_PREFIX}{folder}/"
    ):
        for item in page.get("Contents", []):
            newest = max(newest or item["Key"], item["Key"])
    if newest is None:
        return None
    return client.get_object(Bucket=bucket, Key=newest)["Body"].read().decode()
