"""aws/run_command.py against the sandbox's SSM: instances SSM does not manage are named as such."""

import pytest

from aws.client import CallContext
from aws.run_command import InstanceNotManaged, run_shell_script
from netmodel.probes import ProbeRequest


def test_an_unknown_instance_is_not_managed(sandbox, db):
    with pytest.raises(InstanceNotManaged, match="not in a valid state"):
        run_shell_script(
            region="us-west-2",
            instance_id="i-0123456789abcdef0",
            commands=ProbeRequest("icmp", "203.0.113.10").shell_commands(),
            context=CallContext(),
        )
