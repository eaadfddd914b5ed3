from tests.panel.conftest import make_environment, make_request, published_tasks  # noqa: F401 - shared fixtures
