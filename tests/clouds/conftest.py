"""The engine's fixtures (a worker with fast tunables), for builds in customer accounts."""

from tests.provisioning.conftest import engine_worker  # noqa: F401 (a fixture)
