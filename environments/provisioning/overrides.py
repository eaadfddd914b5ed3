"""Checks of a request's overrides against AWS before anything is built: the key pair exists in
the region (DescribeKeyPairs), the AMI exists, is available, EBS-backed and of an architecture the
instance type runs (DescribeImages, DescribeInstanceTypes). At request time (the form, the plan
preview and the API, through `services.request_errors`) and again at approval, since a key pair
or an image can be deleted in between. Without them a malformed AMI failed at RunInstances after
the VPC, gateways and bastion existed, and a missing key pair built an instance nobody could enter.
"""

import logging
import re

from django.conf import settings

from aws import client as aws_client
from aws import resources as aws_resources

from .keys import key_pair_error

log = logging.getLogger(__name__)

AMI_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")


def override_errors(
    *, region: str, instance_type: str, key_name: str, image_id: str, account: aws_client.AccountAccess | None = None
) -> dict[str, list[str]]:
    """{field: [messages]} for the key pair and the AMI; empty when both can be used (or are not
    given, or AWS could not be asked: the build then reports what AWS says)."""
    errors: dict[str, list[str]] = {}
    key_name, image_id = (key_name or "").strip(), (image_id or "").strip()
    if key_name:
        message = key_pair_error(region, key_name, account)
        if message:
            errors["key_name"] = [message]
    if image_id:
        message = image_error(region, image_id, instance_type, account)
        if message:
            errors["image_id"] = [message]
    return errors


def image_error(region: str, image_id: str, instance_type: str, account: aws_client.AccountAccess | None = None) -> str:
    if not AMI_ID.match(image_id):
        return f"{image_id} is not an AMI id: ami- followed by 8 or 17 hexadecimal digits."
    if not settings.WLPANEL_AWS_ENDPOINT:  # no AWS configured (unit tests): nothing to ask
        return ""
    ec2 = aws_client.ec2_client(region, context=aws_client.CallContext(), account=account)
    try:
        image = aws_resources.image_describe_or_none(ec2, image_id)
        architectures = aws_resources.instance_type_architectures(ec2, instance_type) if image else []
    except aws_client.AwsError as exc:
        log.warning("could not check AMI %s in %s: %s", image_id, region, exc)
        return ""
    if image is None:
        return f"No AMI {image_id} in {region} that this account may use."
    if image.get("State", "available") != "available":
        return f"AMI {image_id} is {image.get('State')}, not available."
    if image.get("RootDeviceType", "ebs") != "ebs":
        return f"AMI {image_id} boots from an instance store; Wavelength Zones run EBS-backed AMIs only."
    architecture = image.get("Architecture", "")
    if architectures and architecture and architecture not in architectures:
        return f"AMI {image_id} is {architecture}; {instance_type} runs {', '.join(architectures)}."
    return ""
