#!/usr/bin/python3
"""Peer for `benchmarks/run sigv4`: botocore's S3 SigV4 signers, in nanoseconds per request.

Run with Debian's interpreter, which has python3-botocore (1.29.27):

    /usr/bin/python3 benchmarks/sigv4_botocore.py

Two operations on one GET of an S3 object, signed at the fixed time 2026-11-24T12:00:00Z with
static credentials (no session token), region us-east-1, service s3:

- header signing: S3SigV4Auth.add_auth, giving the Authorization header;
- presigning: S3SigV4QueryAuth(expires=3600).add_auth, giving the presigned URL.

Each iteration builds a fresh AWSRequest, as a botocore client does for every call; the
credentials and the signer objects are built once. After a warm-up that also sizes the run,
each operation is timed over about TARGET_SECONDS of iterations, five times, and the median
is reported.

stderr: one human line per figure, and the Authorization header and the URL produced.
stdout: exactly one line, {"botocore_header_sign_ns": N, "botocore_presign_ns": N}.
"""

import datetime
import json
import statistics
import sys
import time
import types
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

SIGNING_TIME = datetime.datetime(2026, 11, 24, 12, 0, 0)  # naive UTC, as utcnow() returns
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SERVICE = "s3"
HOST = "examplebucket.s3.us-east-1.amazonaws.com"
URL = f"https://{HOST}/audio/user-42/3f2a9c_20261124_120000.wav"
EXPIRES = 3600

REPETITIONS = 5
TARGET_SECONDS = 1.0  # per timed repetition
WARMUP_SECONDS = 0.3

# A client configured not to hash payloads: S3SigV4Auth reads this from request.context
# ['client_config'] (where a botocore client puts its Config) and then signs the
# x-amz-content-sha256 value UNSIGNED-PAYLOAD. Without it botocore replaces the header with
# the SHA-256 of the empty body for a GET.
CLIENT_CONFIG = Config(s3={"payload_signing_enabled": False})


class _FixedClockDatetime(datetime.datetime):
    """datetime.datetime whose utcnow() is the fixed signing time."""

    @classmethod
    def utcnow(cls):
        return SIGNING_TIME


# How the time is fixed: SigV4Auth.add_auth (and so both signers) reads the clock through
# `datetime.datetime.utcnow()` on the `datetime` module imported by botocore.auth. For the run
# only, botocore.auth's name `datetime` is pointed at a stand-in module that is the real one in
# everything except that its `datetime` class answers utcnow() with SIGNING_TIME. botocore's
# own code still does all the work (timestamp formatting, headers, canonical request, key
# derivation, signature); only the clock reading is replaced.
_fixed_clock_module = types.ModuleType("datetime")
_fixed_clock_module.__dict__.update(vars(datetime))
_fixed_clock_module.datetime = _FixedClockDatetime


def header_request():
    """The GET a client would sign in the Authorization header."""
    request = AWSRequest(
        method="GET",
        url=URL,
        headers={"Host": HOST, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    request.context = {"client_config": CLIENT_CONFIG}  # as create_request_object() does
    return request


def presign_request():
    """The same GET, to be presigned.

    Aligned with @smithy/signature-v4 as the AWS SDK's S3 presigner uses it: that presigner sets
    the header X-Amz-Content-Sha256: UNSIGNED-PAYLOAD and SignatureV4.presign hoists every
    x-amz-* header into the query, so its URL carries X-Amz-Content-Sha256=UNSIGNED-PAYLOAD as a
    signed query parameter and signs only `host`. Here the parameter is in the URL from the
    start (an operation parameter, to botocore) and only Host is a header; sent as a header
    instead, botocore would sign it as a header (SignedHeaders=host;x-amz-content-sha256).
    """
    request = AWSRequest(
        method="GET",
        url=URL + "?X-Amz-Content-Sha256=UNSIGNED-PAYLOAD",
        headers={"Host": HOST},
    )
    request.context = {"client_config": CLIENT_CONFIG}
    return request


def run_loop(signer, make_request, iterations):
    """Nanoseconds for `iterations` fresh requests built and signed."""
    add_auth = signer.add_auth
    start = time.perf_counter_ns()
    for _ in range(iterations):
        add_auth(make_request())
    return time.perf_counter_ns() - start


def measure(signer, make_request):
    """Median ns per operation over REPETITIONS timed runs of about TARGET_SECONDS each."""
    # Warm-up, doubling until it lasts WARMUP_SECONDS; it also gives the rate to size the runs.
    iterations = 64
    while True:
        elapsed = run_loop(signer, make_request, iterations)
        if elapsed >= WARMUP_SECONDS * 1e9:
            break
        iterations *= 2
    timed_iterations = max(1, int(iterations * TARGET_SECONDS * 1e9 / elapsed))
    per_op = [
        run_loop(signer, make_request, timed_iterations) / timed_iterations
        for _ in range(REPETITIONS)
    ]
    return round(statistics.median(per_op)), timed_iterations


def main():
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, token=None)
    header_signer = botocore.auth.S3SigV4Auth(credentials, SERVICE, REGION)
    query_signer = botocore.auth.S3SigV4QueryAuth(credentials, SERVICE, REGION, expires=EXPIRES)

    with mock.patch.object(botocore.auth, "datetime", _fixed_clock_module):
        signed = header_request()
        header_signer.add_auth(signed)
        presigned = presign_request()
        query_signer.add_auth(presigned)

        header_ns, header_n = measure(header_signer, header_request)
        presign_ns, presign_n = measure(query_signer, presign_request)

    log = sys.stderr
    print(f"botocore {botocore.__version__} (Python {sys.version.split()[0]})", file=log)
    print(f"botocore Authorization: {signed.headers['Authorization']}", file=log)
    print(f"botocore presigned URL: {presigned.url}", file=log)
    print(
        f"botocore header sign (S3SigV4Auth):  {header_ns:>8} ns/request "
        f"(median of {REPETITIONS} x {header_n} iterations)",
        file=log,
    )
    print(
        f"botocore presign (S3SigV4QueryAuth): {presign_ns:>8} ns/request "
        f"(median of {REPETITIONS} x {presign_n} iterations)",
        file=log,
    )
    print(json.dumps({"botocore_header_sign_ns": header_ns, "botocore_presign_ns": presign_ns}))


if __name__ == "__main__":
    main()
