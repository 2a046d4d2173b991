def test_health_reports_each_component(client, db):
    response = client.get("/health/")
    body = response.json()
    assert set(body["checks"]) == {"database", "cache", "broker", "worker"}
    assert body["checks"]["database"] == "ok"
