from django.test import Client


def test_signing_out_takes_a_post_and_ends_the_session(alice):
    client = Client()
    client.force_login(alice)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    assert client.get("/profile/security/tokens/").status_code == 302


def test_a_get_never_signs_anyone_out(alice):
    # A link or an <img src="/logout/"> on another site must not sign people out.
    client = Client()
    client.force_login(alice)
    response = client.get("/accounts/logout/")
    assert response.status_code == 200  # a page asking to confirm, with a POST form
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_signing_out_needs_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/accounts/logout/").status_code == 403
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_the_header_shows_the_name_and_a_sign_out_button(alice_client):
    content = alice_client.get("/profile/security/tokens/").content.decode()
    assert '<span class="site-header__name" title="Signed in as alice">Alice</span>' in content
    assert '<form method="post" action="/accounts/logout/">' in content
    assert '<button type="submit" class="btn btn--header">Sign out</button>' in content
