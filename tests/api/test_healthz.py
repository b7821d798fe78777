"""GET /healthz: for load balancers and orchestrators."""


def test_it_is_200_when_the_database_answers(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_it_is_503_when_the_database_does_not(client, unreachable_database):
    with unreachable_database():
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"error": "temporarily_unavailable"}
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"


def test_post_is_405(client, db):
    response = client.post("/healthz")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_head_answers_like_get_without_the_body(client, db):
    get = client.get("/healthz")
    response = client.head("/healthz")

    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(get.content))
    assert response["Cache-Control"] == "no-store"
