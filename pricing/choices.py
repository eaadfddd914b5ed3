from django.db import models


class PricedKind(models.TextChoices):
    """What a cached price is the price of (one row per location, kind and instance type)."""

    INSTANCE = "instance", "Instance hour (Linux, shared, on demand)"
    EBS_GP2 = "ebs_gp2", "EBS gp2 storage (GB-month)"
    CARRIER_IP = "carrier_ip", "Carrier IP (hour)"
    PUBLIC_IPV4 = "public_ipv4", "Public IPv4 address (hour)"
