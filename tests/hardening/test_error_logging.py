"""An unhandled error in a running server is findable (issue 14 section 3): the 500 answer carries a
traceId and the log has a record with that traceId and the traceback.

The app is served by a real werkzeug server thread, after the migrations ran in the same process
(`migrations/env.py` used to call `fileConfig()`, which disabled every logger that already existed,
so the 500 never reached the log).
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request

import pytest


class _Boom(RuntimeError):
    pass


@pytest.fixture
def boom_server(make_app):
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False, DEBUG=False)

    @app.route("/api/v1/_test_boom")
    def _boom():
        raise _Boom("kaboom for the log test")

    @app.route("/_test_boom_page")
    def _boom_page():
        raise _Boom("kaboom on a page")

    with app.app_context():
        upgrade()  # runs migrations/env.py in this process, as `flask db upgrade` and run.py do
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="boom-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.mark.parametrize("path", ["/api/v1/_test_boom", "/_test_boom_page"])
def test_unhandled_error_logs_trace_id_and_traceback(boom_server, caplog, path):
    caplog.set_level(logging.ERROR)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(boom_server + path, timeout=30)
    assert err.value.code == 500
    body = err.value.read().decode()
    assert "kaboom" not in body and "Traceback" not in body  # nothing internal for the user
    if path.startswith("/api/"):
        trace_id = json.loads(body)["traceId"]
    else:
        trace_id = err.value.headers.get("X-Trace-Id") or next(
            r.getMessage().split("trace_id=")[1].split()[0]
            for r in caplog.records
            if "trace_id=" in r.getMessage()
        )
        assert trace_id in body  # the error page shows it to quote to support
    records = [r for r in caplog.records if trace_id in r.getMessage()]
    assert records, [r.getMessage() for r in caplog.records]
    record = records[0]
    assert record.levelno >= logging.ERROR and record.exc_info is not None
    assert record.exc_info[0] is _Boom
    assert "kaboom" in caplog.text and "Traceback" in caplog.text
