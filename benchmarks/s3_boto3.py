#!/usr/bin/python3
"""benchmarks/s3_boto3.py: the boto3 peer of `benchmarks/run s3`.

    s3_boto3.py --endpoint http://127.0.0.1:PORT --bucket B --op put|get --seconds S --threads 8

One boto3 S3 client (Debian's python3-boto3; path-style addressing, SigV4, no retries, a pool
of 8 connections, region us-east-1, dummy static keys) shared by THREADS threads, each doing
1 KiB operations in a loop:
    put   each thread puts its own distinct keys;
    get   64 keys are put once first, then the threads get them round-robin.
After 0.5 s of warm-up, the operations completed over the next S seconds are counted. Every
response is checked (status, ETag, the 1 KiB body); a failed call or check counts as an error.
Prints one JSON line, {"op": "put", "ops_per_s": 1234.5, "threads": 8, "errors": 0}, and
exits 1 if there was any error (the first one goes to stderr).
"""

import argparse
import json
import sys
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

OBJECT_SIZE = 1024
GET_KEYS = 64
WARMUP_SECONDS = 0.5


def make_client(endpoint, threads):
    config = Config(
        max_pool_connections=threads,
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        retries={"max_attempts": 1},
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDBENCHMARK0000000",
        aws_secret_access_key="benchmark/secret/key/not/a/real/one0000",
        config=config,
    )


def check_put(response):
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    if status != 200 or not response.get("ETag"):
        raise RuntimeError(f"put: status {status}, ETag {response.get('ETag')!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--op", required=True, choices=("put", "get"))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    if args.seconds <= 0 or args.threads < 1:
        parser.error("--seconds and --threads must be positive")

    client = make_client(args.endpoint, args.threads)
    body = b"x" * OBJECT_SIZE
    try:
        client.create_bucket(Bucket=args.bucket)
    except ClientError as e:  # already there (owned by us) is fine
        if e.response.get("Error", {}).get("Code") not in (
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        ):
            raise

    get_keys = [f"boto3-get/{i:03d}" for i in range(GET_KEYS)]
    if args.op == "get":
        for key in get_keys:
            check_put(client.put_object(Bucket=args.bucket, Key=key, Body=body))

    done = [0] * args.threads  # completed operations, one slot per thread
    errors = [0] * args.threads
    first_error = []
    stop = threading.Event()

    def put_loop(index):
        n = 0
        while not stop.is_set():
            key = f"boto3-put/{index}/{n}"
            n += 1
            try:
                check_put(client.put_object(Bucket=args.bucket, Key=key, Body=body))
                done[index] += 1
            except Exception as e:  # noqa: BLE001 - every failure is counted
                errors[index] += 1
                first_error.append(repr(e))

    def get_loop(index):
        n = index
        while not stop.is_set():
            key = get_keys[n % GET_KEYS]
            n += args.threads
            try:
                response = client.get_object(Bucket=args.bucket, Key=key)
                data = response["Body"].read()
                status = response["ResponseMetadata"]["HTTPStatusCode"]
                if status != 200 or len(data) != OBJECT_SIZE:
                    raise RuntimeError(f"get {key}: status {status}, {len(data)} bytes")
                done[index] += 1
            except Exception as e:  # noqa: BLE001 - every failure is counted
                errors[index] += 1
                first_error.append(repr(e))

    loop = put_loop if args.op == "put" else get_loop
    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(args.threads)]
    for w in workers:
        w.start()
    time.sleep(WARMUP_SECONDS)
    start_count, start = sum(done), time.monotonic()
    time.sleep(args.seconds)
    end_count, end = sum(done), time.monotonic()
    stop.set()
    for w in workers:
        w.join()

    total_errors = sum(errors)
    result = {
        "op": args.op,
        "ops_per_s": round((end_count - start_count) / (end - start), 1),
        "threads": args.threads,
        "errors": total_errors,
    }
    print(json.dumps(result), flush=True)
    if total_errors:
        print(f"s3_boto3.py: {total_errors} errors, the first: {first_error[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
