"""The EC2 key pairs a request may name, per region (DescribeKeyPairs), for the request form's
picker and its check that the key pair exists. Kept a minute in the cache: the form asks on every
zone change, and a key pair imported in the console shows within that minute."""

import logging
import re

from django.conf import settings
from django.core.cache import cache

from aws import client as aws_client
from aws import resources as aws_resources

log = logging.getLogger(__name__)

KEY_PAIRS_CACHE_SECONDS = 60
KEY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PUBLIC_KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]{0,200})?$")


def _cache_key(region: str, account: aws_client.AccountAccess | None) -> str:
    return f"wlpanel:key-pairs:{settings.WLPANEL_AWS_ENDPOINT}:{account or 'own'}:{region}"


def key_pairs(region: str, account: aws_client.AccountAccess | None = None) -> list[dict] | None:
    """[{"name", "type", "fingerprint"}] of the region in `account`, or None when AWS could not be asked."""
    if not settings.WLPANEL_AWS_ENDPOINT:  # no AWS configured (unit tests): nothing to ask
        return None
    key = _cache_key(region, account)
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        pairs = aws_resources.key_pairs_describe(
            aws_client.ec2_client(region, context=aws_client.CallContext(), account=account)
        )
    except aws_client.AwsError as exc:
        log.warning("DescribeKeyPairs in %s failed: %s", region, exc)
        return None
    cache.set(key, pairs, KEY_PAIRS_CACHE_SECONDS)
    return pairs


def key_pair_error(region: str, key_name: str, account: aws_client.AccountAccess | None = None) -> str:
    """Why `key_name` cannot be used in `region` ("" when it can, or when AWS could not say)."""
    if not key_name:
        return ""
    pairs = key_pairs(region, account)
    if pairs is None or any(pair["name"] == key_name for pair in pairs):
        return ""
    names = ", ".join(pair["name"] for pair in pairs) or "none yet (import your public key under Key pairs)"
    return f"No key pair named {key_name} in {region}; its key pairs: {names}."


def key_pair_import(
    *, origin, region: str, name: str, public_key: str, account: aws_client.AccountAccess | None = None
) -> dict:
    """Import the person's public key as a key pair of `region`, audited as theirs: the intent, the
    AWS call (in the call log) and the outcome. Only the public half ever reaches the panel."""
    from django.core.exceptions import ValidationError

    from aws.errors import error_code, error_message

    from ..exceptions import Conflict

    name, public_key = name.strip(), " ".join(public_key.split())
    errors = {}
    if not KEY_NAME.match(name):
        errors["name"] = ["1 to 64 letters, digits, dots, hyphens or underscores."]
    if not PUBLIC_KEY.match(public_key):
        errors["public_key"] = ["Paste an OpenSSH public key (ssh-ed25519 … or ssh-rsa …), the .pub file: never the private key."]
    if errors:
        raise ValidationError(errors)
    intent = origin.record(
        action="key_pair.import_requested", target=None, target_repr=name, details={"region": region, "name": name}
    )
    context = aws_client.CallContext(correlation_id=origin.correlation_id, cause_event_id=intent.pk)
    try:
        imported = aws_resources.key_pair_import(
            aws_client.ec2_client(region, context=context, account=account),
            name=name,
            public_key=public_key,
            tags={"wlpanel:imported-by": origin.user.get_username() if origin.user else "system"},
        )
    except aws_client.AwsError as exc:
        origin.record(
            action="key_pair.import_failed",
            target=None,
            target_repr=name,
            details={"region": region, "code": error_code(exc), "message": error_message(exc)},
        )
        raise Conflict(f"AWS did not import {name}: {error_message(exc)}") from exc
    origin.record(action="key_pair.imported", target=None, target_repr=name, details={"region": region, **imported})
    cache.delete(_cache_key(region, account))
    return imported
