"""The AWS adapter: the only package that imports boto3 (in `client` alone), shared by every app.

`client` builds clients that record every call; `errors` says what a failure means for the
engine; `resources` holds one small idempotent function per AWS resource and action; `objects`
the S3 objects the panel keeps for itself (audit checkpoints under Object Lock).
"""
