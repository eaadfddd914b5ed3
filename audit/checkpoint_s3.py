"""The S3 sink for checkpoints: one object each, under Object Lock in compliance mode, so nobody,
not even the account's root user, can delete or overwrite it before its retention ends.

The bucket must have been created with Object Lock enabled (S3 refuses to add it later). This is
audit/'s only boto3 use, kept to these two functions on purpose: the panel's AWS adapter is
moving to its own package, and these calls should then go through it (they are not in the AWS
call log meanwhile). Against the sandbox it is a demonstration only: a sandbox reset deletes its
objects.
"""

from datetime import UTC, datetime, timedelta

import boto3
from django.conf import settings


def _s3_client():
    endpoint = settings.WLPANEL_AWS_ENDPOINT
    options = {"region_name": settings.WLPANEL_AUDIT_CHECKPOINT_S3_REGION}
    if endpoint and endpoint != "aws":  # the sandbox: any credentials do
        options |= {"endpoint_url": endpoint, "aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
    return boto3.client("s3", **options)


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
