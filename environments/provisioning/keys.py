"""The EC2 key pairs a request may name, per region (DescribeKeyPairs), for the request form's
picker and its check that the key pair exists. Kept a minute in the cache: the form asks on every
zone change, and a key pair imported in the console shows within that minute."""

import logging

from django.conf import settings
from django.core.cache import cache

from aws import client as aws_client
from aws import resources as aws_resources

log = logging.getLogger(__name__)

KEY_PAIRS_CACHE_SECONDS = 60


def key_pairs(region: str) -> list[dict] | None:
    """[{"name", "type", "fingerprint"}] of the region, or None when AWS could not be asked."""
    if not settings.WLPANEL_AWS_ENDPOINT:  # no AWS configured (unit tests): nothing to ask
        return None
    key = f"wlpanel:key-pairs:{settings.WLPANEL_AWS_ENDPOINT}:{region}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        pairs = aws_resources.key_pairs_describe(aws_client.ec2_client(region, context=aws_client.CallContext()))
    except aws_client.AwsError as exc:
        log.warning("DescribeKeyPairs in %s failed: %s", region, exc)
        return None
    cache.set(key, pairs, KEY_PAIRS_CACHE_SECONDS)
    return pairs


def key_pair_error(region: str, key_name: str) -> str:
    """Why `key_name` cannot be used in `region` ("" when it can, or when AWS could not say)."""
    if not key_name:
        return ""
    pairs = key_pairs(region)
    if pairs is None or any(pair["name"] == key_name for pair in pairs):
        return ""
    names = ", ".join(pair["name"] for pair in pairs) or "none yet (import a public key in the EC2 console)"
    return f"No key pair named {key_name} in {region}; its key pairs: {names}."
