"""providers/base.py, pure: OpenAI's rule of what goes out again (expired_only), and service_failure, the
one line every failed SDK call becomes (each SDK error kind, constructed here without a network)."""

from __future__ import annotations

import anthropic
import httpx2 as httpx  # the HTTP library the installed SDKs are built on
import openai
import pytest

from batch_review.core.errors import SERVICE_TEXT_LIMIT, BatchAPIError
from batch_review.findings.results import RequestResult
from batch_review.providers.base import BATCH_PENDING, expired_only, service_failure

SDKS = [openai, anthropic]
KEY = "sk-live-0123456789abcdefghij"
REQUEST = httpx.Request("POST", "https://api.example.test/v1/batches")


def _status_error(sdk, status: int, body: object):
    response = httpx.Response(status, request=REQUEST, json=body if isinstance(body, dict) else None)
    return sdk.APIStatusError("raw message with the whole body", response=response, body=body)


# --- expired_only -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "code", "batch", "again"), [
    ("error", "batch_expired", "expired", True),
    ("missing", None, "expired", True),  # in neither file: the expiry stopped it
    ("error", None, "expired", True),
    ("error", "rate_limit_exceeded", "expired", False),  # it ran, and failed: not the expiry's doing
    ("error", "batch_expired", "completed", False),
    ("missing", None, "completed", False),  # a completed batch that lost a line: not resent blindly
    ("missing", None, "cancelled", False),  # a user cancelled: never resent
    ("ok", None, "expired", False),
    ("unparsable", None, "expired", False),  # the model answered: resending pays twice
])
def test_expired_only_sends_again_what_the_expiry_stopped(status, code, batch, again):
    assert expired_only(RequestResult("pr-1:c-1", status, error_code=code), batch) is again


def test_pending_states_are_the_unfinished_ones():
    assert BATCH_PENDING == {"validating", "in_progress", "finalizing", "cancelling"}


# --- service_failure ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sdk", SDKS)
def test_a_status_error_is_the_status_and_the_services_short_message(sdk):
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "Invalid 'metadata'."}}
    err = service_failure(sdk, _status_error(sdk, 400, body), "creating the batch")
    assert isinstance(err, BatchAPIError)
    assert err.line() == "creating the batch: HTTP 400: Invalid 'metadata'."
    assert err.status == 400 and not err.transient


@pytest.mark.parametrize("sdk", SDKS)
def test_a_message_at_the_top_of_the_body_is_read_too(sdk):
    err = service_failure(sdk, _status_error(sdk, 502, {"message": "Bad gateway"}), "listing")
    assert err.line() == "listing: HTTP 502: Bad gateway"
    assert err.transient


@pytest.mark.parametrize("sdk", SDKS)
@pytest.mark.parametrize("body", [None, "an html page", {"error": "a string"}, {"error": {"message": 7}},
                                  {"error": {"message": "   "}}, {"error": {"detail": "no message"}}, ["x"]])
def test_without_a_message_it_is_the_status_alone(sdk, body):
    err = service_failure(sdk, _status_error(sdk, 429, body), "reading batch b")
    assert err.line() == "reading batch b: HTTP 429"
    assert err.status == 429 and err.transient


@pytest.mark.parametrize("sdk", SDKS)
def test_the_services_message_is_one_clipped_redacted_line(sdk):
    message = f"Authorization: Bearer {KEY}\nrejected {KEY}\r\n" + "x" * 2000
    err = service_failure(sdk, _status_error(sdk, 401, {"error": {"message": message}}), "reading batch b")
    line = err.line()
    assert KEY not in line and "0123456789abcdefghij" not in line
    assert "\n" not in line and "\r" not in line
    said = line.removeprefix("reading batch b: HTTP 401: ")
    assert len(said) == SERVICE_TEXT_LIMIT and said.endswith("…")
    assert "raw message with the whole body" not in line


@pytest.mark.parametrize("sdk", SDKS)
def test_a_timeout_is_timed_out(sdk):
    err = service_failure(sdk, sdk.APITimeoutError(request=REQUEST), "downloading file f")
    assert err.line() == "downloading file f: timed out"
    assert err.status is None and err.transient


@pytest.mark.parametrize("sdk", SDKS)
def test_a_connection_failure_names_its_cause(sdk):
    exc = sdk.APIConnectionError(request=REQUEST)
    exc.__cause__ = ConnectionRefusedError(111, f"Connection refused by proxy for {KEY}")
    err = service_failure(sdk, exc, "listing files")
    assert err.line().startswith("listing files: cannot connect (")
    assert "Connection refused" in err.line() and KEY not in err.line()
    assert err.transient


@pytest.mark.parametrize("sdk", SDKS)
def test_a_connection_failure_without_a_cause_is_still_one_line(sdk):
    err = service_failure(sdk, sdk.APIConnectionError(message="Connection error.\nretry", request=REQUEST), "x")
    assert err.line() == "x: cannot connect (Connection error. retry)"


@pytest.mark.parametrize("sdk", SDKS)
def test_anything_else_is_its_type_and_redacted_words(sdk):
    err = service_failure(sdk, ValueError(f"bad\nvalue {KEY}"), "uploading part-1.jsonl")
    assert err.line() == "uploading part-1.jsonl: ValueError: bad value sk-[redacted]"
    assert err.transient  # no answer from the service to say it will not pass


def test_the_other_sdks_errors_are_not_mistaken_for_status_errors():
    """An anthropic error seen through the openai names is 'anything else', never a crash."""
    exc = _status_error(anthropic, 500, {"error": {"message": "boom"}})
    err = service_failure(openai, exc, "x")
    assert err.line() == "x: APIStatusError: raw message with the whole body"
