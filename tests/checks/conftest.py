"""The engine's fixtures (a real build on the sandbox by real workers), for the checks' tests."""

from tests.provisioning.conftest import control, engine_worker, make_environment, seed_zone  # noqa: F401
