"""Labs go with their VPC and with the sandbox's reset (last in tests/lab: it resets the sandbox)."""

import os

from tests.lab.conftest import own_namespaces


def test_lab_goes_with_its_vpc(control, environment):
    ec2 = environment["ec2"]
    # Deleting a VPC for real needs everything in it gone; a VPC without instances is quicker.
    empty_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    empty = control.ok("POST", "labs", {"vpc_id": empty_vpc})
    names = set(empty["namespaces"].values())
    assert names and names <= set(own_namespaces(f"wl{os.getpid():x}-"))
    ec2.delete_vpc(VpcId=empty_vpc)
    assert not names & set(own_namespaces(f"wl{os.getpid():x}-"))
    assert [lab["vpc_id"] for lab in control.ok("GET", "labs")["labs"]] == [environment["vpc"]]


def test_reset_tears_down_every_lab(control, environment):
    shared = set(
        control.ok("GET", f"labs/{environment['vpc']}")["namespaces"].values()
    )  # rebuilt by faults' clearing
    assert shared <= set(own_namespaces(f"wl{os.getpid():x}-"))
    control.ok("POST", "reset")
    assert control.ok("GET", "labs")["labs"] == []
    assert own_namespaces(f"wl{os.getpid():x}-") == []
