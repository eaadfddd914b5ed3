from environments.provisioning.plan import (
    IngressRule,
    PlanSpec,
    build_plan,
    client_token,
    critical_path,
    plan_document,
    plan_hash,
    resource_tags,
    spec_from_document,
    teardown_order,
)

SEED = PlanSpec(
    name="seed",
    region="us-west-2",
    zone="us-west-2-wl1-sfo-wlz-1",
    parent_zone="us-west-2a",
    instance_type="t3.medium",
)


def keys(steps):
    return [step.key for step in steps]


def test_the_seed_plan_has_every_resource_of_the_walk_through():
    assert keys(build_plan(SEED)) == [
        "vpc",
        "public_subnet",
        "internet_gateway",
        "public_route_table",
        "bastion_sg",
        "bastion",
        "wavelength_subnet",
        "wavelength_sg",
        "carrier_gateway",
        "wavelength_route_table",
        "wavelength_instance",
        "carrier_ip",
    ]


def test_without_a_bastion_the_public_side_is_left_out():
    plan = build_plan(PlanSpec(**{**SEED.__dict__, "bastion": False}))
    assert not {"public_subnet", "internet_gateway", "public_route_table", "bastion_sg", "bastion"} & set(keys(plan))


def test_the_bastion_branch_does_not_wait_for_the_carrier_gateway():
    steps = {step.key: step for step in build_plan(SEED)}

    def ancestors(key):
        found = set()
        for dep in steps[key].depends_on:
            found |= {dep} | ancestors(dep)
        return found

    assert "carrier_gateway" not in ancestors("bastion")
    assert "internet_gateway" not in ancestors("wavelength_instance")
    assert {"wavelength_subnet", "carrier_gateway"} <= ancestors("wavelength_route_table")


def test_the_wavelength_instance_is_pinned_to_gp2_and_the_carrier_ip_to_the_zone():
    steps = {step.key: step for step in build_plan(SEED)}
    assert steps["wavelength_instance"].params["RootVolumeType"] == "gp2"
    assert steps["carrier_ip"].params == {"Domain": "vpc", "NetworkBorderGroup": "us-west-2-wl1-sfo-wlz-1"}
    assert steps["public_subnet"].params["AvailabilityZone"] == "us-west-2a"


def test_default_security_groups_follow_the_design():
    steps = {step.key: step for step in build_plan(SEED)}
    assert steps["bastion_sg"].params["Ingress"] == [
        {"protocol": "all", "ports": None, "source": "10.0.0.0/16", "description": "all from the VPC"}
    ]
    narrowed = PlanSpec(**{**SEED.__dict__, "bastion_ssh_cidr": "203.0.113.7/32",
                           "wavelength_ingress": (IngressRule("tcp", "80,443"),)})
    steps = {step.key: step for step in build_plan(narrowed)}
    assert {"protocol": "tcp", "ports": "22", "source": "203.0.113.7/32", "description": "SSH"} in steps["bastion_sg"].params["Ingress"]
    assert steps["wavelength_sg"].params["Ingress"][1] == {
        "protocol": "tcp", "ports": "80,443", "source": "0.0.0.0/0", "description": "from outside the VPC"
    }


def test_the_hash_binds_the_exact_plan():
    document = plan_document(SEED)
    assert plan_hash(document) == plan_hash(plan_document(SEED))
    other = plan_document(PlanSpec(**{**SEED.__dict__, "instance_type": "t3.xlarge"}))
    assert plan_hash(document) != plan_hash(other)
    assert spec_from_document(document) == SEED


def test_teardown_deletes_dependents_first():
    order = teardown_order(plan_document(SEED)["steps"])
    assert order.index("carrier_ip") < order.index("wavelength_instance") < order.index("wavelength_subnet")
    assert order.index("wavelength_route_table") < order.index("carrier_gateway") < order.index("vpc")
    assert order.index("bastion") < order.index("public_route_table") < order.index("internet_gateway")
    assert order[-1] == "vpc"


def test_critical_path_is_the_longest_dependency_chain():
    steps = plan_document(SEED)["steps"]
    durations = {step["key"]: 1.0 for step in steps} | {"wavelength_instance": 20.0}
    # vpc -> wavelength_subnet -> wavelength_instance -> carrier_ip
    assert critical_path(steps, durations) == 23.0


def test_tokens_and_tags_are_deterministic():
    assert client_token("a1", 7, "wavelength_instance") == client_token("a1", 7, "wavelength_instance")
    assert client_token("a1", 7, "wavelength_instance") != client_token("a1", 7, "wavelength_instance", generation=2)
    # Another installation (or this one on a new database) reuses environment ids, never tokens.
    assert client_token("a1", 7, "wavelength_instance") != client_token("b2", 7, "wavelength_instance")
    assert len(client_token("a1", 7, "vpc")) <= 64
    assert resource_tags("a1", 7, "edge", "vpc") == {
        "wlpanel:installation": "a1",
        "wlpanel:environment": "7",
        "wlpanel:resource": "vpc",
        "Name": "edge-vpc",
    }
