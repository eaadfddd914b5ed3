import pytest
from django.db import DatabaseError, connection, transaction

from audit.choices import Source
from audit.models import AuditEvent
from audit.services import GENESIS_HASH, audit_chain_verify, record


@pytest.mark.django_db
def test_record_chains_each_row_to_the_previous_one(alice):
    first = record(actor=alice, action="thing.done", target=alice, source=Source.SHELL)
    second = record(actor=None, action="thing.undone", target=None, source=Source.BEAT, details={"n": 1})

    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.actor_username == "alice" and first.actor_id == alice.pk
    assert second.actor_username == "" and second.details == {"n": 1}
    assert audit_chain_verify() == (2, None)


@pytest.mark.django_db
def test_actor_survives_as_a_value_when_the_user_is_deleted(make_user):
    dave = make_user("dave")
    dave_id = dave.pk
    event = record(actor=dave, action="thing.done", target=None, source=Source.WEB)
    dave.delete()
    event.refresh_from_db()
    assert (event.actor_id, event.actor_username) == (dave_id, "dave")


@pytest.mark.django_db
def test_database_refuses_update_and_delete_of_audit_rows(alice):
    event = record(actor=alice, action="thing.done", target=None, source=Source.WEB)
    for statement in (
        "UPDATE audit_auditevent SET action = 'thing.hidden' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, [event.pk])
    event.refresh_from_db()
    assert event.action == "thing.done"


@pytest.mark.django_db
def test_orm_update_is_refused_too(alice):
    record(actor=alice, action="thing.done", target=None, source=Source.WEB)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(action="thing.hidden")


@pytest.mark.django_db
def test_verify_names_the_first_row_altered_behind_the_apps_back(alice):
    events = [record(actor=alice, action=f"thing.{n}", target=None, source=Source.WEB) for n in range(3)]
    with transaction.atomic(), connection.cursor() as cursor:
        # As the table's owner, with the trigger disabled for this one statement.
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
        cursor.execute("UPDATE audit_auditevent SET actor_username = 'mallory' WHERE id = %s", [events[1].pk])
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only")
    checked, broken = audit_chain_verify()
    assert checked == 1
    assert broken.event_id == events[1].pk
    assert "altered" in broken.reason
