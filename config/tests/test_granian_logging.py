"""The granian access log the benchmarks' granian shapes write (config/granian_logging.py): granian's own
line builder (granian.log.log_request_builder) through the logging config we hand granian, read back
from the file it writes."""

import json
import logging
import logging.config
import time

from granian.log import log_request_builder

from config.granian_logging import ACCESS_FORMAT, log_config


def access_line(tmp_path, path: str, query: str, referer: str | None = None) -> str:
    access_file = tmp_path / "access.log"
    # As granian reads it: JSON, then dictConfig.
    logging.config.dictConfig(json.loads(json.dumps(log_config(str(access_file)))))
    try:
        headers = {"referer": referer, "user-agent": "curl/8"}
        log_request_builder(ACCESS_FORMAT)(time.time(), time.perf_counter(), {
            "addr_remote": "203.0.113.9", "protocol": "HTTP/1.1", "path": path, "qs": query, "method": "GET",
            "scheme": "http", "headers": headers.get}, 302)
    finally:
        for name in ("granian.access", "_granian"):  # leave logging as the other tests expect it
            configured = logging.getLogger(name)
            for handler in configured.handlers:
                handler.close()
            configured.handlers.clear()
            configured.filters.clear()
            configured.propagate = True
    return access_file.read_text()


def test_credentials_in_the_query_and_referer_are_redacted(tmp_path):
    line = access_line(tmp_path, "/oauth/callback", "code=SECRET1&state=s1&access_token=SECRET2",
                       referer="https://rp.test/cb?id_token_hint=SECRET3&x=1")

    assert "SECRET" not in line
    assert '"GET /oauth/callback?code=[redacted]&state=s1&access_token=[redacted] HTTP/1.1" 302' in line
    assert '"https://rp.test/cb?id_token_hint=[redacted]&x=1" "curl/8"' in line
    assert line.startswith("203.0.113.9 - - [")


def test_a_path_without_query_is_logged_as_sent(tmp_path):
    line = access_line(tmp_path, "/login", "")

    assert '"GET /login HTTP/1.1" 302 - "-" "curl/8"' in line
