"""The only package that talks to AWS (boto3 is imported in `client` alone).

`client` builds clients that record every call; `errors` says what a failure means for the
engine; `resources` holds one small idempotent function per AWS resource and action.
"""
