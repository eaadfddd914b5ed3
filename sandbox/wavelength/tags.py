"""Tag fixes so every resource the engine creates can be found by its tags.

- CreateSecurityGroup answers the tags it applied (stock moto stores but does not return them).
- DescribeTags names Elastic IPs ``elastic-ip``, as AWS does (stock moto: ``vpc-elastic-ip``).
"""

from collections.abc import Callable

from moto.core.responses import ActionResult
from moto.ec2.responses import EC2Response
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, EC2_RESOURCE_TO_PREFIX

from .patching import wrap


def _create_security_group(stock: Callable) -> Callable:
    def create_security_group(self: EC2Response) -> ActionResult:
        result = stock(self)
        group_id = result.result["GroupId"]
        tags = [
            {"Key": tag["key"], "Value": tag["value"]}
            for tag in self.ec2_backend.describe_tags(filters={"resource-id": [group_id]})
        ]
        return ActionResult({**result.result, "Tags": tags}) if tags else result

    return create_security_group


def install() -> None:
    EC2_PREFIX_TO_RESOURCE[EC2_RESOURCE_TO_PREFIX["vpc-elastic-ip"]] = "elastic-ip"
    wrap(EC2Response, "create_security_group", _create_security_group)
