#!/usr/bin/python3
"""The http suite of benchmarks/run: cloudstore's transport beside a bare Beast client loop and
wrk, against one sink server on 127.0.0.1, in one run.

usage: http_suite.py BIN_DIR [SECONDS] [ROUNDS]

For 1, 8 and 64 connections, each client runs SECONDS (default 3) of small GETs; the three take
turns, ROUNDS times (default 3), and the median of each is kept, so that a slow spell of this
shared machine falls on all of them alike. Then a 1 GiB body each way, ROUNDS times, median.
Prints a table and, last, RESULT {json}."""
import json
import os
import signal
import statistics
import subprocess
import sys

GIB = 1 << 30
CONNECTIONS = (1, 8, 64)


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    bin_dir = sys.argv[1]
    seconds = sys.argv[2] if len(sys.argv) > 2 else "3"
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    here = os.path.dirname(os.path.abspath(__file__))
    server = subprocess.Popen([os.path.join(bin_dir, "http_sink_server")],
                              stdout=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline().split()
        if len(first) != 2 or first[0] != "PORT":
            sys.exit("http_sink_server did not say its port")
        port = first[1]
        ours = os.path.join(bin_dir, "cloudstore_bench_http")
        bare = os.path.join(bin_dir, "http_bare_client")
        wrk = os.path.join(here, "http_wrk.sh")
        rps = {}
        for c in CONNECTIONS:
            for _ in range(rounds):
                for key, cmd in ((f"rps_c{c}", [ours, "127.0.0.1", port, str(c), seconds]),
                                 (f"bare_rps_c{c}", [bare, "127.0.0.1", port, str(c), seconds]),
                                 (f"wrk_rps_c{c}", [wrk, port, str(c), seconds])):
                    rps.setdefault(key, []).append(run_json(cmd)["rps"])
        transfer = {}
        for _ in range(rounds):
            for way in ("upload", "download"):
                transfer.setdefault(f"{way}_mbps", []).append(
                    run_json([ours, "127.0.0.1", port, f"--{way}", str(GIB)])["mbps"])
                transfer.setdefault(f"bare_{way}_mbps", []).append(
                    run_json([bare, "127.0.0.1", port, f"--{way}", str(GIB)])["mbps"])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    result = {k: round(statistics.median(v)) for k, v in {**rps, **transfer}.items()}
    for c in CONNECTIONS:
        result[f"vs_bare_c{c}"] = round(result[f"rps_c{c}"] / result[f"bare_rps_c{c}"], 3)
    goals = [(f"vs_bare_c{c}", 0.85) for c in CONNECTIONS]
    goals += [("upload_mbps", 1500), ("download_mbps", 1500)]

    print(f"{'connections':>11} {'cloudstore':>11} {'bare Beast':>11} {'wrk':>11} {'vs bare':>8}")
    for c in CONNECTIONS:
        print(f"{c:>11} {result[f'rps_c{c}']:>11} {result[f'bare_rps_c{c}']:>11} "
              f"{result[f'wrk_rps_c{c}']:>11} {result[f'vs_bare_c{c}']:>8}")
    print("requests per second, median of", rounds, "rounds of", seconds, "s")
    for way in ("upload", "download"):
        print(f"1 GiB {way}: cloudstore {result[f'{way}_mbps']} MB/s, "
              f"bare Beast {result[f'bare_{way}_mbps']} MB/s")
    missed = [f"{k} {result[k]} < {v}" for k, v in goals if result[k] < v]
    print("goals:", "all met" if not missed else "missed: " + ", ".join(missed))
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
