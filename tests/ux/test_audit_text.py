"""Audit text never repeats itself (issue 20, defect 15), and every aria-describedby names an
element of its page (defect 22)."""

import re

from tests.helpers import signed_in
from tokens.domain import lifecycle
from tokens.models import REVOKED_BY_OWNER, TokenEvent


def test_an_events_summary_names_its_action_once(alice, alice_token, admin_user):
    lifecycle.revoke_token(alice_token.token, by=alice, reason=REVOKED_BY_OWNER)
    revoked = TokenEvent.objects.get(action="revoked")
    assert revoked.summary == "Revoked by its owner in the portal"
    # A detail written before, with the action in front: said once.
    revoked.detail = "Rotated: enrt_…AAAA replaced by enrt_…BBBB"
    revoked.action = "rotated"
    assert revoked.summary == "Rotated: enrt_…AAAA replaced by enrt_…BBBB"
    revoked.action, revoked.detail = "revoked", "laptop stolen"
    assert revoked.summary == "Revoked: laptop stolen"


def test_the_pages_that_list_events_never_repeat_the_action(
    admin_user, alice, alice_token, sync_service_token
):
    lifecycle.rotate(sync_service_token.token, by=admin_user)
    lifecycle.revoke_token(alice_token.token, by=alice, reason=REVOKED_BY_OWNER)
    client = signed_in(admin_user)
    pages = [
        client.get("/admin/").content.decode(),
        client.get("/admin/tokens/tokenevent/").content.decode(),
        signed_in(alice).get(f"/profile/security/tokens/{alice_token.token.pk}/").content.decode(),
    ]
    for page in pages:
        assert not re.search(r"(Revoked|Rotated|Created): \1", page, flags=re.I)
        assert "Revoked by its owner in the portal" in page or "Rotated" in page


def test_every_aria_describedby_names_an_element(admin_user, alice_token):
    client = signed_in(admin_user)
    token = alice_token.token
    for url in [
        f"/admin/tokens/referencetoken/{token.pk}/revoke/",
        "/admin/tokens/referencetoken/",
    ]:
        page = client.get(url).content.decode()
        ids = set(re.findall(r'\sid="([^"]+)"', page))
        for described in re.findall(r'aria-describedby="([^"]+)"', page):
            for name in described.split():
                assert name in ids, f"{url}: aria-describedby={name} names no element"
