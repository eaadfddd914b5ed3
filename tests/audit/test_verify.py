"""`manage.py audit_verify`: the chain holds, and a row changed or removed behind the app's back is named."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit.choices import Source
from audit.services import record


def _events(actor, count: int = 4):
    return [
        record(actor=actor, action=f"thing.step{n}", target=None, source=Source.WEB) for n in range(count)
    ]


def _as_table_owner(statement: str, params) -> None:
    """Change audit rows the way only the table's owner can: trigger off for this one statement."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
        cursor.execute(statement, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only")


def _verify(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_an_intact_chain_verifies(alice):
    events = _events(alice)
    output = _verify()
    assert "Audit chain OK: 4 rows verified" in output
    assert f"head #{events[-1].pk} {events[-1].hash}" in output


@pytest.mark.django_db
def test_an_empty_log_verifies():
    assert "Audit chain OK: 0 rows verified" in _verify()


@pytest.mark.django_db
def test_an_altered_row_is_named_with_its_time_and_action(alice):
    events = _events(alice)
    altered = events[2]
    _as_table_owner(
        'UPDATE audit_auditevent SET details = \'{"note": "nothing happened"}\' WHERE id = %s', [altered.pk]
    )

    with pytest.raises(CommandError) as failure:
        _verify()

    message = str(failure.value)
    assert failure.value.returncode == 1
    assert f"row #{altered.pk}" in message
    assert altered.created_at.isoformat() in message and "thing.step2" in message
    assert "altered" in message and "2 rows before it verified" in message


@pytest.mark.django_db
def test_a_deleted_row_is_detected_at_the_row_after_it(alice):
    events = _events(alice)
    _as_table_owner("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])

    with pytest.raises(CommandError) as failure:
        _verify()

    message = str(failure.value)
    assert f"row #{events[2].pk}" in message
    assert f"does not follow row #{events[0].pk}" in message and "removed" in message


@pytest.mark.django_db
def test_a_row_removed_from_the_end_is_caught_against_a_head_kept_elsewhere(alice):
    events = _events(alice)
    kept_head = events[-1].hash
    _as_table_owner("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])

    assert "3 rows verified" in _verify()  # the chain alone cannot tell
    with pytest.raises(CommandError, match="expected head .* is not in the chain"):
        _verify("--expect-head", kept_head)


@pytest.mark.django_db
def test_verify_reads_in_batches(alice):
    _events(alice, count=7)
    assert "7 rows verified" in _verify("--batch-size", "3", "--verbosity", "2")
