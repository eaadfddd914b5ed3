"""S3 objects the panel keeps for itself (today: the audit log's checkpoints, `audit.checkpoint_s3`).

Written once under Object Lock in compliance mode: nobody, the account's root user included, can
delete or overwrite such an object before its retention ends. The bucket must have been created
with Object Lock enabled (S3 cannot add it later).
"""

from datetime import datetime

from .client import NO_CONTEXT, s3_client


def locked_object_put(*, region: str, bucket: str, key: str, body: bytes, retain_until: datetime) -> None:
    s3_client(region, context=NO_CONTEXT).put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=retain_until,
    )


def newest_object_body(*, region: str, bucket: str, prefix: str) -> bytes | None:
    """The body of the object with the greatest key under `prefix` (keys that sort by time), or None."""
    client = s3_client(region, context=NO_CONTEXT)
    newest = None
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            newest = max(newest or item["Key"], item["Key"])
    if newest is None:
        return None
    return client.get_object(Bucket=bucket, Key=newest)["Body"].read()
