import pytest
from django.test import Client


@pytest.mark.parametrize("url", ["/", "/profile/", "/profile/security/"])
def test_it_leads_to_the_token_page(alice_client, url):
    response = alice_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/profile/security/tokens/"


def test_someone_signed_out_is_asked_to_sign_in_first(db):
    response = Client().get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=/profile/security/tokens/"
    assert response.status_code == 200


def test_it_changes_nothing_on_post(alice_client):
    assert alice_client.post("/").status_code == 405
