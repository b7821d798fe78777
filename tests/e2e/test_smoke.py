def test_the_admin_sign_in_page_renders_in_a_real_browser(page, screenshot):
    page.goto("/admin/login/")
    assert page.get_by_label("Username").is_visible()
    screenshot(page, "admin-login")


def test_the_live_validation_url_answers_a_resource_server(
    alice_token, orders_api, introspect_over_http
):
    answer = introspect_over_http(alice_token.plaintext, orders_api)
    assert answer["active"] is True
    assert answer["username"] == "alice"
