import pytest


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path):
    """Each test's own checkpoint file: checkpoints of another test's database would not match."""
    settings.WLPANEL_AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"
    return settings.WLPANEL_AUDIT_CHECKPOINT_FILE
