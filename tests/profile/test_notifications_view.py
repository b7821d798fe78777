"""Profile → Notifications: expiry notices can be turned off; security notices cannot."""

from accounts.models import User


def test_expiry_notices_are_on_by_default(alice_client):
    response = alice_client.get("/profile/notifications/")
    assert response.status_code == 200
    assert b'name="notify_expiry" id="id_notify_expiry" checked' in response.content
    assert b"cannot be turned off" in response.content


def test_a_person_turns_expiry_notices_off_and_on(alice_client, alice):
    response = alice_client.post("/profile/notifications/", {})
    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).notify_expiry is False

    alice_client.post("/profile/notifications/", {"notify_expiry": "on"})
    assert User.objects.get(pk=alice.pk).notify_expiry is True


def test_it_changes_only_the_signed_in_persons_setting(alice_client, alice, bob):
    alice_client.post("/profile/notifications/", {"notify_expiry": "", "user": bob.pk})
    assert User.objects.get(pk=bob.pk).notify_expiry is True


def test_signed_out_people_are_sent_to_sign_in(client, db):
    assert client.get("/profile/notifications/")["Location"].startswith("/accounts/login/")
