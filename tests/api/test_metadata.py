"""GET /.well-known/oauth-authorization-server (RFC 8414)."""

URL = "/.well-known/oauth-authorization-server"


def test_it_names_the_endpoints_with_urls_built_from_the_request(client, db):
    response = client.get(URL, HTTP_HOST="localhost")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "issuer": "http://localhost",
        "introspection_endpoint": "http://localhost/connect/introspect",
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "revocation_endpoint": "http://localhost/connect/revocation",
        "revocation_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
        "grant_types_supported": [],
    }


def test_a_configured_base_url_wins_over_the_request(client, db, settings):
    settings.PORTAL_BASE_URL = "https://id.example.com"

    answer = client.get(URL, HTTP_HOST="localhost").json()

    assert answer["issuer"] == "https://id.example.com"
    assert answer["introspection_endpoint"] == "https://id.example.com/connect/introspect"
    assert answer["revocation_endpoint"] == "https://id.example.com/connect/revocation"


def test_it_costs_no_query(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        client.get(URL, HTTP_HOST="localhost")


def test_a_host_outside_allowed_hosts_is_refused(client, db):
    assert client.get(URL, HTTP_HOST="evil.example").status_code == 400


def test_post_is_405(client, db):
    response = client.post(URL)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response["Cache-Control"] == "no-store"


def test_head_answers_like_get_without_the_body(client, db):
    get = client.get(URL, HTTP_HOST="localhost")
    response = client.head(URL, HTTP_HOST="localhost")

    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(get.content))
    assert response["Content-Type"] == "application/json"
