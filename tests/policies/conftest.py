import pytest

from tests.panel.conftest import make_environment, make_request, published_tasks  # noqa: F401 - shared fixtures


@pytest.fixture
def prices(sandbox, db):
    """The price cache refreshed from the sandbox's Pricing API (sample prices)."""
    from audit.choices import Source
    from audit.context import Origin
    from pricing.services import prices_refresh

    return prices_refresh(origin=Origin.system(Source.BEAT))


@pytest.fixture
def two_above(admin_user, team):
    """Team demo's policy: two approvers above $0.50/h or from 7 days on; a 24 h approval window."""
    from policies import services
    from tests.conftest import origin_of

    return services.policy_version_add(
        origin=origin_of(admin_user),
        team=team,
        approval_window_hours=24,
        default_approvals=1,
        rules=[{"name": "costly or long", "approvals_required": 2, "min_hourly_usd": 0.5, "min_ttl_hours": 168}],
    )
