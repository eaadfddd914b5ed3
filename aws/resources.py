"""One small idempotent function per AWS resource and action (`<resource>_<verb>`).

"Already done" answers count as success: a duplicate rule, an existing route, an attached
gateway, a deleted resource. Untaggable actions look first and act only when needed
(describe-then-act), so a retry after a lost answer never acts twice. Nothing here touches the
database; the step executors decide what to call and record the results.
"""

import json
from dataclasses import dataclass
from datetime import date

from .client import ClientError
from .errors import error_code, is_not_found

ENVIRONMENT_TAG = "wlpanel:environment"
RESOURCE_TAG = "wlpanel:resource"
# Which panel made it: environment ids repeat across installations (another panel on the same
# account, a re-created database), so lookups and the inventory also match this tag.
INSTALLATION_TAG = "wlpanel:installation"
SSM_PREFIX = "SSM "
DEFAULT_ROOT_VOLUME_GIB = 8
GONE_INSTANCE_STATES = frozenset({"terminated"})
LEAVING_INSTANCE_STATES = frozenset({"shutting-down", "terminated", "stopping", "stopped"})


@dataclass(frozen=True)
class Kind:
    """How to describe one kind of resource: the operation, its list, its id field and id filter."""

    operation: str
    items: str
    id_field: str
    ids_parameter: str
    tag_type: str  # the TagSpecifications ResourceType


KINDS = {
    "vpc": Kind("describe_vpcs", "Vpcs", "VpcId", "VpcIds", "vpc"),
    "subnet": Kind("describe_subnets", "Subnets", "SubnetId", "SubnetIds", "subnet"),
    "internet_gateway": Kind(
        "describe_internet_gateways",
        "InternetGateways",
        "InternetGatewayId",
        "InternetGatewayIds",
        "internet-gateway",
    ),
    "carrier_gateway": Kind(
        "describe_carrier_gateways",
        "CarrierGateways",
        "CarrierGatewayId",
        "CarrierGatewayIds",
        "carrier-gateway",
    ),
    "route_table": Kind(
        "describe_route_tables", "RouteTables", "RouteTableId", "RouteTableIds", "route-table"
    ),
    "security_group": Kind(
        "describe_security_groups", "SecurityGroups", "GroupId", "GroupIds", "security-group"
    ),
    "instance": Kind("describe_instances", "Reservations", "InstanceId", "InstanceIds", "instance"),
    "carrier_ip": Kind("describe_addresses", "Addresses", "AllocationId", "AllocationIds", "elastic-ip"),
    # Created with the instances (tagged at launch), never steps of their own; the inventory
    # after a teardown asks for them too.
    "volume": Kind("describe_volumes", "Volumes", "VolumeId", "VolumeIds", "volume"),
    "network_interface": Kind(
        "describe_network_interfaces",
        "NetworkInterfaces",
        "NetworkInterfaceId",
        "NetworkInterfaceIds",
        "network-interface",
    ),
}
# Kinds that come and go with an instance: no step of their own, so never orphans while it lives.
INSTANCE_PARTS = frozenset({"volume", "network_interface"})
# The order in which leftovers are removed: what holds others first, the VPC last.
TEARDOWN_ORDER = (
    "carrier_ip",
    "instance",
    "network_interface",
    "volume",
    "route_table",
    "carrier_gateway",
    "internet_gateway",
    "security_group",
    "subnet",
    "vpc",
)


# --- Tags, lookups, descriptions ------------------------------------------------------------------


def tag_specifications(kind: str, tags: dict[str, str], *extra_types: str) -> list[dict]:
    tag_list = [{"Key": key, "Value": value} for key, value in tags.items()]
    return [
        {"ResourceType": kind_type, "Tags": tag_list} for kind_type in (KINDS[kind].tag_type, *extra_types)
    ]


def _items(ec2, kind: str, **arguments) -> list[dict]:
    spec = KINDS[kind]
    answer = getattr(ec2, spec.operation)(**arguments)
    if kind == "instance":
        return [instance for reservation in answer["Reservations"] for instance in reservation["Instances"]]
    return answer[spec.items]


def _alive(kind: str, item: dict) -> bool:
    if kind == "instance":
        return item["State"]["Name"] not in GONE_INSTANCE_STATES
    if kind in ("carrier_gateway", "volume"):
        return item.get("State") not in ("deleting", "deleted")
    return True


def _tag_filters(tags: dict[str, str], keys: tuple[str, ...]) -> list[dict]:
    # A step recorded before the installation tag existed is matched without it.
    return [{"Name": f"tag:{key}", "Values": [tags[key]]} for key in keys if tags.get(key)]


def find_by_tags(ec2, kind: str, tags: dict[str, str]) -> list[dict]:
    """Live resources of `kind` carrying this installation's, environment's and step's tags (adoption).

    An instance shutting down is not one to adopt: it is on its way out (a Retry replaces it).
    """
    filters = _tag_filters(tags, (INSTALLATION_TAG, ENVIRONMENT_TAG, RESOURCE_TAG))
    return [
        item
        for item in _items(ec2, kind, Filters=filters)
        if _alive(kind, item) and not (kind == "instance" and item["State"]["Name"] == "shutting-down")
    ]


def item_id(kind: str, item: dict) -> str:
    return item[KINDS[kind].id_field]


def find_id_by_tags(ec2, kind: str, tags: dict[str, str]) -> str:
    found = find_by_tags(ec2, kind, tags)
    return item_id(kind, found[0]) if found else ""


def item_tags(item: dict) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in item.get("Tags") or item.get("TagSet") or []}


def environment_tags(step_tags: dict[str, str]) -> dict[str, str]:
    """Of a step's tags, those every resource of its environment carries (installation, environment)."""
    return {key: value for key, value in step_tags.items() if key in (INSTALLATION_TAG, ENVIRONMENT_TAG)}


def environment_inventory(ec2, tags: dict[str, str]) -> list[dict]:
    """Every live resource tagged with the environment (and installation): [{type, id, tags, item}].

    Network interfaces are also listed when they sit in one of those VPCs untagged (AWS makes
    them for instances; one left behind keeps its subnet and VPC alive).
    """
    filters = _tag_filters(tags, (INSTALLATION_TAG, ENVIRONMENT_TAG))
    found = []
    for kind in KINDS:
        for item in _items(ec2, kind, Filters=filters):
            if _alive(kind, item):
                found.append({"type": kind, "id": item_id(kind, item), "tags": item_tags(item), "item": item})
    vpc_ids = [entry["id"] for entry in found if entry["type"] == "vpc"]
    known = {entry["id"] for entry in found}
    if vpc_ids:
        for item in _items(ec2, "network_interface", Filters=[{"Name": "vpc-id", "Values": vpc_ids}]):
            if item_id("network_interface", item) not in known:
                entry = {"type": "network_interface", "id": item_id("network_interface", item), "item": item}
                found.append({**entry, "tags": item_tags(item)})
    return found


def inventory_remove(ec2, entry: dict) -> bool:
    """Remove one inventory entry; True when something was asked of AWS, False when already gone.

    Instances are only asked to terminate here (the caller waits for `terminated`); a network
    interface attached to an instance is left to that instance's termination.
    """
    kind, item, resource_id = entry["type"], entry["item"], entry["id"]
    if kind == "instance":
        return instance_terminate(ec2, resource_id)
    if kind == "carrier_ip":
        return carrier_ip_release(ec2, item, item.get("NetworkBorderGroup", ""))
    if kind == "network_interface":
        if item.get("Attachment", {}).get("InstanceId"):
            return False
        return _delete(ec2.delete_network_interface, NetworkInterfaceId=resource_id)
    if kind == "volume":
        return _delete(ec2.delete_volume, VolumeId=resource_id)
    if kind == "route_table":
        route_table_clear(ec2, item)
        return route_table_delete(ec2, resource_id)
    if kind == "internet_gateway":
        for attachment in item.get("Attachments", []):
            internet_gateway_detach(ec2, resource_id, attachment["VpcId"])
        return internet_gateway_delete(ec2, resource_id)
    deletes = {
        "carrier_gateway": carrier_gateway_delete,
        "security_group": security_group_delete,
        "subnet": subnet_delete,
        "vpc": vpc_delete,
    }
    return deletes[kind](ec2, resource_id)


def _json_value(value):
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_safe(item: dict) -> dict:
    """The boto3 item with datetimes as ISO strings, ready for a JSON column."""
    return json.loads(json.dumps(item, default=_json_value))


def describe(ec2, kind: str, aws_id: str) -> dict:
    """The boto3 Describe* item (JSON-safe); raises the NotFound ClientError when AWS does not know the id."""
    items = _items(ec2, kind, **{KINDS[kind].ids_parameter: [aws_id]})
    if not items:
        raise ClientError(
            {"Error": {"Code": f"Invalid{kind}ID.NotFound", "Message": f"{aws_id} not found"}}, "Describe"
        )
    item = items[0]
    if kind == "vpc":
        # The traffic matrix needs the VPC's network ACLs next to the VPC itself.
        item["NetworkAcls"] = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [aws_id]}])[
            "NetworkAcls"
        ]
    return json_safe(item)


def describe_or_none(ec2, kind: str, aws_id: str) -> dict | None:
    try:
        item = describe(ec2, kind, aws_id)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    return item if _alive(kind, item) else None


def _ignoring(codes: set[str], call, **arguments) -> bool:
    """Run an action; True if it acted, False if AWS says it was already done (`codes`)."""
    try:
        call(**arguments)
    except ClientError as exc:
        if error_code(exc) in codes or (is_not_found(exc) and "NotFound" in codes):
            return False
        raise
    return True


def _delete(call, **arguments) -> bool:
    """Delete; False when it was already gone."""
    return _ignoring({"NotFound"}, call, **arguments)


# --- VPC and subnets ------------------------------------------------------------------------------


def vpc_create(ec2, *, cidr: str, tags: dict) -> str:
    return ec2.create_vpc(CidrBlock=cidr, TagSpecifications=tag_specifications("vpc", tags))["Vpc"]["VpcId"]


def vpc_delete(ec2, vpc_id: str) -> bool:
    return _delete(ec2.delete_vpc, VpcId=vpc_id)


def subnet_create(ec2, *, vpc_id: str, cidr: str, zone: str, tags: dict) -> str:
    answer = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock=cidr,
        AvailabilityZone=zone,
        TagSpecifications=tag_specifications("subnet", tags),
    )
    return answer["Subnet"]["SubnetId"]


def subnet_delete(ec2, subnet_id: str) -> bool:
    return _delete(ec2.delete_subnet, SubnetId=subnet_id)


# --- Gateways -------------------------------------------------------------------------------------


def internet_gateway_create(ec2, *, tags: dict) -> str:
    answer = ec2.create_internet_gateway(TagSpecifications=tag_specifications("internet_gateway", tags))
    return answer["InternetGateway"]["InternetGatewayId"]


def internet_gateway_attach(ec2, gateway: dict, vpc_id: str) -> bool:
    """Attach unless `gateway` (its Describe item) already shows the attachment."""
    if any(attachment.get("VpcId") == vpc_id for attachment in gateway.get("Attachments", [])):
        return False
    return _ignoring(
        {"Resource.AlreadyAssociated"},
        ec2.attach_internet_gateway,
        InternetGatewayId=gateway["InternetGatewayId"],
        VpcId=vpc_id,
    )


def internet_gateway_detach(ec2, gateway_id: str, vpc_id: str) -> bool:
    return _ignoring(
        {"Gateway.NotAttached", "NotFound"},
        ec2.detach_internet_gateway,
        InternetGatewayId=gateway_id,
        VpcId=vpc_id,
    )


def internet_gateway_delete(ec2, gateway_id: str) -> bool:
    return _delete(ec2.delete_internet_gateway, InternetGatewayId=gateway_id)


def carrier_gateway_create(ec2, *, vpc_id: str, token: str, tags: dict) -> str:
    answer = ec2.create_carrier_gateway(
        VpcId=vpc_id, ClientToken=token, TagSpecifications=tag_specifications("carrier_gateway", tags)
    )
    return answer["CarrierGateway"]["CarrierGatewayId"]


def carrier_gateway_delete(ec2, gateway_id: str) -> bool:
    return _delete(ec2.delete_carrier_gateway, CarrierGatewayId=gateway_id)


# --- Route tables ---------------------------------------------------------------------------------

ROUTE_TARGET_FIELDS = {"internet_gateway": "GatewayId", "carrier_gateway": "CarrierGatewayId"}


def route_table_create(ec2, *, vpc_id: str, token: str, tags: dict) -> str:
    answer = ec2.create_route_table(
        VpcId=vpc_id, ClientToken=token, TagSpecifications=tag_specifications("route_table", tags)
    )
    return answer["RouteTable"]["RouteTableId"]


def route_ensure(ec2, table: dict, *, destination: str, target_kind: str, target_id: str) -> bool:
    """Create the route unless `table` (its Describe item) already has it."""
    field = ROUTE_TARGET_FIELDS[target_kind]
    for route in table.get("Routes", []):
        if route.get("DestinationCidrBlock") == destination and route.get(field) == target_id:
            return False
    return _ignoring(
        {"RouteAlreadyExists"},
        ec2.create_route,
        RouteTableId=table["RouteTableId"],
        DestinationCidrBlock=destination,
        **{field: target_id},
    )


def route_table_association(table: dict, subnet_id: str) -> str:
    for association in table.get("Associations", []):
        if association.get("SubnetId") == subnet_id:
            return association["RouteTableAssociationId"]
    return ""


def route_table_associate(ec2, table: dict, subnet_id: str) -> str:
    """The association id, associating only when `table` does not show one for the subnet yet."""
    existing = route_table_association(table, subnet_id)
    if existing:
        return existing
    answer = ec2.associate_route_table(RouteTableId=table["RouteTableId"], SubnetId=subnet_id)
    return answer["AssociationId"]


def route_table_clear(ec2, table: dict) -> None:
    """Remove the table's subnet associations and its non-local routes (teardown)."""
    for association in table.get("Associations", []):
        if not association.get("Main"):
            _ignoring(
                {"NotFound"},
                ec2.disassociate_route_table,
                AssociationId=association["RouteTableAssociationId"],
            )
    for route in table.get("Routes", []):
        if route.get("GatewayId") != "local" and route.get("DestinationCidrBlock"):
            _ignoring(
                {"NotFound"},
                ec2.delete_route,
                RouteTableId=table["RouteTableId"],
                DestinationCidrBlock=route["DestinationCidrBlock"],
            )


def route_table_delete(ec2, table_id: str) -> bool:
    return _delete(ec2.delete_route_table, RouteTableId=table_id)


# --- Security groups ------------------------------------------------------------------------------


def security_group_create(ec2, *, vpc_id: str, name: str, description: str, tags: dict) -> str:
    answer = ec2.create_security_group(
        GroupName=name,
        Description=description,
        VpcId=vpc_id,
        TagSpecifications=tag_specifications("security_group", tags),
    )
    return answer["GroupId"]


def _port_ranges(ports: str | None) -> list[tuple[int, int]]:
    if not ports:
        return [(0, 65535)]
    ranges = []
    for part in ports.split(","):
        low, _, high = part.strip().partition("-")
        ranges.append((int(low), int(high or low)))
    return ranges


def ip_permissions(rules: list[dict]) -> list[dict]:
    """The plan's ingress rules as EC2 IpPermissions (one per port range)."""
    permissions = []
    for rule in rules:
        source = [{"CidrIp": rule["source"], "Description": rule.get("description", "")[:255]}]
        protocol = rule["protocol"]
        if protocol == "all":
            permissions.append({"IpProtocol": "-1", "IpRanges": source})
        elif protocol == "icmp":
            permissions.append({"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": source})
        else:
            permissions += [
                {"IpProtocol": protocol, "FromPort": low, "ToPort": high, "IpRanges": source}
                for low, high in _port_ranges(rule.get("ports"))
            ]
    return permissions


def _permission_keys(permission: dict) -> set[tuple]:
    protocol = permission["IpProtocol"]
    ports = (None, None) if protocol == "-1" else (permission.get("FromPort"), permission.get("ToPort"))
    return {(protocol, *ports, cidr["CidrIp"]) for cidr in permission.get("IpRanges", [])}


def security_group_missing_rules(group: dict, rules: list[dict]) -> list[dict]:
    """The IpPermissions of `rules` that `group` (its Describe item) does not have."""
    present = set().union(*(_permission_keys(permission) for permission in group.get("IpPermissions", [])))
    return [permission for permission in ip_permissions(rules) if not _permission_keys(permission) <= present]


def security_group_extra_rules(group: dict, rules: list[dict]) -> list[tuple]:
    """(protocol, from, to, cidr) of `group`'s ingress that the plan's `rules` do not have (added by hand)."""
    planned = set().union(*(_permission_keys(permission) for permission in ip_permissions(rules)))
    present = set().union(*(_permission_keys(permission) for permission in group.get("IpPermissions", [])))
    return sorted(present - planned, key=str)


def security_group_rules_ensure(ec2, group: dict, rules: list[dict]) -> int:
    """Authorize the rules `group` (its Describe item) lacks, in one call; the number added."""
    missing = security_group_missing_rules(group, rules)
    if not missing:
        return 0
    try:
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=missing)
    except ClientError as exc:
        if error_code(exc) != "InvalidPermission.Duplicate":
            raise
        # Someone added part of them meanwhile: add the rest one by one, duplicates being done.
        for permission in missing:
            _ignoring(
                {"InvalidPermission.Duplicate"},
                ec2.authorize_security_group_ingress,
                GroupId=group["GroupId"],
                IpPermissions=[permission],
            )
    return len(missing)


def security_group_delete(ec2, group_id: str) -> bool:
    return _delete(ec2.delete_security_group, GroupId=group_id)


# --- Instances ------------------------------------------------------------------------------------


def image_resolve(ssm, image: str) -> str:
    """An AMI id: the plan's `SSM <parameter>` read from the region's public parameter, or the id itself."""
    if not image.startswith(SSM_PREFIX):
        return image
    return ssm.get_parameter(Name=image.removeprefix(SSM_PREFIX))["Parameter"]["Value"]


def image_root_device(ec2, image_id: str) -> tuple[str, int]:
    """The AMI's root device name and size, to override only its volume type."""
    image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    root = image.get("RootDeviceName", "/dev/xvda")
    for mapping in image.get("BlockDeviceMappings", []):
        if mapping.get("DeviceName") == root and "Ebs" in mapping:
            return root, mapping["Ebs"].get("VolumeSize") or DEFAULT_ROOT_VOLUME_GIB
    return root, DEFAULT_ROOT_VOLUME_GIB


@dataclass(frozen=True)
class InstanceSpec:
    image_id: str
    instance_type: str
    subnet_id: str
    security_group_id: str
    public_ip: bool = False
    key_name: str = ""
    root_volume: tuple[str, int, str] | None = None  # device, size GiB, volume type
    instance_profile: str = ""  # by name: SSM's core policy, so Run Command reaches the instance


def instance_run(ec2, spec: InstanceSpec, *, token: str, tags: dict) -> str:
    """RunInstances with the step's ClientToken: a retry returns the same instance."""
    arguments = {
        "ImageId": spec.image_id,
        "InstanceType": spec.instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "ClientToken": token,
        "TagSpecifications": tag_specifications("instance", tags, "volume", "network-interface"),
    }
    if spec.public_ip:
        arguments["NetworkInterfaces"] = [
            {
                "DeviceIndex": 0,
                "SubnetId": spec.subnet_id,
                "Groups": [spec.security_group_id],
                "AssociatePublicIpAddress": True,
                "DeleteOnTermination": True,  # else it outlives the instance and holds the subnet
            }
        ]
    else:
        arguments["SubnetId"] = spec.subnet_id
        arguments["SecurityGroupIds"] = [spec.security_group_id]
    if spec.key_name:
        arguments["KeyName"] = spec.key_name
    if spec.instance_profile:
        arguments["IamInstanceProfile"] = {"Name": spec.instance_profile}
    if spec.root_volume:
        device, size, volume_type = spec.root_volume
        arguments["BlockDeviceMappings"] = [
            {
                "DeviceName": device,
                "Ebs": {"VolumeType": volume_type, "VolumeSize": size, "DeleteOnTermination": True},
            }
        ]
    return ec2.run_instances(**arguments)["Instances"][0]["InstanceId"]


def instance_terminate(ec2, instance_id: str) -> bool:
    return _delete(ec2.terminate_instances, InstanceIds=[instance_id])


def instance_network_interface(instance: dict) -> str:
    interfaces = sorted(
        instance.get("NetworkInterfaces", []), key=lambda eni: eni.get("Attachment", {}).get("DeviceIndex", 0)
    )
    return interfaces[0]["NetworkInterfaceId"] if interfaces else ""


# --- Carrier IP -----------------------------------------------------------------------------------


def carrier_ip_allocate(ec2, *, border_group: str, tags: dict) -> str:
    """A Carrier IP: an address from the zone's network border group (no ClientToken: tagged)."""
    answer = ec2.allocate_address(
        Domain="vpc",
        NetworkBorderGroup=border_group,
        TagSpecifications=tag_specifications("carrier_ip", tags),
    )
    return answer["AllocationId"]


def carrier_ip_associate(ec2, address: dict, network_interface_id: str) -> str:
    """The association id, associating only when `address` (its Describe item) is not associated there."""
    if address.get("AssociationId") and address.get("NetworkInterfaceId") == network_interface_id:
        return address["AssociationId"]
    answer = ec2.associate_address(
        AllocationId=address["AllocationId"], NetworkInterfaceId=network_interface_id
    )
    return answer["AssociationId"]


def carrier_ip_release(ec2, address: dict, border_group: str) -> bool:
    """Disassociate if needed, then release (`ReleaseAddress` needs the border group)."""
    if address.get("AssociationId"):
        _ignoring({"NotFound"}, ec2.disassociate_address, AssociationId=address["AssociationId"])
    return _ignoring(
        {"NotFound", "InvalidAllocationID.NotFound"},
        ec2.release_address,
        AllocationId=address["AllocationId"],
        NetworkBorderGroup=border_group,
    )


def key_pairs_describe(ec2) -> list[dict]:
    """The region's EC2 key pairs: [{"name", "type", "fingerprint"}], by name."""
    answer = ec2.describe_key_pairs()
    return sorted(
        (
            {"name": pair["KeyName"], "type": pair.get("KeyType", ""), "fingerprint": pair.get("KeyFingerprint", "")}
            for pair in answer.get("KeyPairs", [])
        ),
        key=lambda pair: pair["name"],
    )


def image_describe_or_none(ec2, image_id: str) -> dict | None:
    """The AMI as DescribeImages answers it, or None when the region has no such image (or the id
    is malformed): what the request's AMI override is checked against before anything is built."""
    try:
        images = ec2.describe_images(ImageIds=[image_id])["Images"]
    except ClientError as exc:
        if error_code(exc).startswith("InvalidAMIID"):
            return None
        raise
    return images[0] if images else None


def instance_type_architectures(ec2, instance_type: str) -> list[str]:
    """The CPU architectures an instance type runs (x86_64, arm64…); [] when EC2 does not know it."""
    try:
        types = ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
    except ClientError as exc:
        if error_code(exc) in ("InvalidInstanceType", "InvalidParameterValue"):
            return []
        raise
    return list(types[0].get("ProcessorInfo", {}).get("SupportedArchitectures", [])) if types else []


def key_pair_import(ec2, *, name: str, public_key: str, tags: dict) -> dict:
    """Import a public key as an EC2 key pair of the client's region: {"name", "fingerprint", "id"}."""
    answer = ec2.import_key_pair(
        KeyName=name,
        PublicKeyMaterial=public_key.encode(),
        TagSpecifications=[{"ResourceType": "key-pair", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    )
    return {"name": answer["KeyName"], "fingerprint": answer.get("KeyFingerprint", ""), "id": answer.get("KeyPairId", "")}
