#!/usr/bin/python3
"""The s3 suite of benchmarks/run: cloudstore's S3 client beside boto3, the transport's raw
exchange and a bare Beast program, in one run.

usage: s3_suite.py ROOT BIN_DIR [SECONDS] [ROUNDS]

1. Size and build cost, first, while nothing else of the suite runs: benchmarks/minimal_s3_put.cpp
   (one put with cloudstore, header-only) and benchmarks/bare_beast_put.cpp (one HTTPS PUT with
   Beast, unsigned), each built by the same command line, `/usr/bin/g++ -O2 -std=c++20`, OpenSSL
   linked dynamically (no ccache), 3 times in turn; the compile time (compile and link, wall
   clock) is the fastest of the 3 builds, the size that of the binary after `strip`.
2. s3_sink_server is started on 127.0.0.1 (a free port); minimal_s3_put puts one object to it,
   as a check that the program works.
3. 1 KiB puts and gets, 8 in flight: cloudstore_bench_s3 (the async face, 8 loops on one
   thread) and s3_boto3.py (8 threads, one client, a pool of 8 connections) take turns, ROUNDS
   times (default 3) of SECONDS each (default 2), after 0.5 s of warm-up; the median of each.
4. 256 MiB up and down: cloudstore_bench_s3 transfer, 5 rounds of the raw PUT, the client's
   put (multipart, UNSIGNED-PAYLOAD), its get into a discarding sink and the raw GET; the best
   round of each (MB = 10^6 bytes).
The server is stopped at the end, whatever happens. Prints a table and, last, RESULT {json}."""
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

MIB = 1 << 20
TRANSFER_BYTES = 256 * MIB
TRANSFER_ROUNDS = 5
BUILDS = 3
BUCKET = "cloudstore-bench"
CXX = "/usr/bin/g++"  # not a ccache wrapper: the build time is real
CXXFLAGS = ["-O2", "-std=c++20"]
PROGRAMS = {
    # name -> (extra flags, libraries)
    "bare_beast_put": ([], ["-lssl", "-lcrypto"]),
    "minimal_s3_put": (["-I{root}/include"], ["-lssl", "-lcrypto", "-lpugixml"]),
}
NO_PROXY_ENV = {k: v for k, v in os.environ.items()
                if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_programs(root, out_dir):
    """{name: (stripped bytes, fastest build in s, [all build times])}."""
    times = {name: [] for name in PROGRAMS}
    for _ in range(BUILDS):
        for name, (flags, libs) in PROGRAMS.items():
            source = os.path.join(root, "benchmarks", name + ".cpp")
            binary = os.path.join(out_dir, name)
            cmd = [CXX, *CXXFLAGS, *[f.format(root=root) for f in flags], source, "-o", binary,
                   *libs]
            start = time.monotonic()
            subprocess.run(cmd, check=True)
            times[name].append(time.monotonic() - start)
    result = {}
    for name in PROGRAMS:
        binary = os.path.join(out_dir, name)
        subprocess.run(["strip", "-o", binary + ".stripped", binary], check=True)
        result[name] = (os.path.getsize(binary + ".stripped"), min(times[name]), times[name])
    return result


def stop(server):
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def main():
    root, bin_dir = sys.argv[1], sys.argv[2]
    seconds = sys.argv[3] if len(sys.argv) > 3 else "2"
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    ours = os.path.join(bin_dir, "cloudstore_bench_s3")
    boto3 = os.path.join(root, "benchmarks", "s3_boto3.py")

    with tempfile.TemporaryDirectory() as out_dir:
        built = build_programs(root, out_dir)
        server = subprocess.Popen([os.path.join(bin_dir, "s3_sink_server")],
                                  stdout=subprocess.PIPE, text=True)
        try:
            first = server.stdout.readline().split()
            if len(first) != 2 or first[0] != "PORT":
                sys.exit("s3_sink_server did not say its port")
            endpoint = f"http://127.0.0.1:{first[1]}"
            subprocess.run([os.path.join(out_dir, "minimal_s3_put"), endpoint, BUCKET,
                            "minimal/hello.txt", "Hello, S3!"], check=True,
                           stdout=subprocess.DEVNULL, env=NO_PROXY_ENV)
            ops = {}
            for _ in range(rounds):
                for op in ("put", "get"):
                    ops.setdefault(f"{op}_1k_ops", []).append(
                        run_json([ours, endpoint, BUCKET, "ops", op, seconds])["ops_per_s"])
                    ops.setdefault(f"boto3_{op}_1k_ops", []).append(
                        run_json(["/usr/bin/python3", boto3, "--endpoint", endpoint,
                                  "--bucket", BUCKET, "--op", op, "--seconds", seconds,
                                  "--threads", "8"])["ops_per_s"])
            transfer = run_json([ours, endpoint, BUCKET, "transfer", str(TRANSFER_BYTES),
                                 str(TRANSFER_ROUNDS)])
        finally:
            stop(server)

    result = {k: round(statistics.median(v)) for k, v in ops.items()}
    result["put_256m_mbps"] = round(max(transfer["put_mbps"]))
    result["get_256m_mbps"] = round(max(transfer["get_mbps"]))
    result["raw_256m_mbps"] = round(max(transfer["raw_put_mbps"]))
    result["raw_get_256m_mbps"] = round(max(transfer["raw_get_mbps"]))
    result["minimal_s3_bytes"], result["minimal_s3_compile_s"] = built["minimal_s3_put"][:2]
    result["bare_beast_bytes"], result["bare_beast_compile_s"] = built["bare_beast_put"][:2]
    result["minimal_s3_compile_s"] = round(result["minimal_s3_compile_s"], 2)
    result["bare_beast_compile_s"] = round(result["bare_beast_compile_s"], 2)

    def ratio(a, b, digits=2):
        return round(result[a] / result[b], digits) if result[b] else None

    result["put_1k_vs_boto3"] = ratio("put_1k_ops", "boto3_put_1k_ops", 1)
    result["get_1k_vs_boto3"] = ratio("get_1k_ops", "boto3_get_1k_ops", 1)
    result["put_256m_vs_raw"] = ratio("put_256m_mbps", "raw_256m_mbps")
    result["get_256m_vs_raw"] = ratio("get_256m_mbps", "raw_256m_mbps")
    result["minimal_s3_size_ratio"] = ratio("minimal_s3_bytes", "bare_beast_bytes")
    result["minimal_s3_compile_ratio"] = ratio("minimal_s3_compile_s", "bare_beast_compile_s")
    # (key, at least) and (key, at most): the goals.
    floors = [("put_1k_vs_boto3", 20), ("get_1k_vs_boto3", 20), ("put_256m_vs_raw", 0.8),
              ("get_256m_vs_raw", 0.8)]
    ceilings = [("minimal_s3_size_ratio", 1.25), ("minimal_s3_compile_ratio", 1.5)]

    print(f"{'1 KiB, 8 in flight':20} {'cloudstore':>11} {'boto3':>9} {'ratio':>7}   goal")
    for op in ("put", "get"):
        print(f"{op + ' ops/s':20} {result[f'{op}_1k_ops']:>11} {result[f'boto3_{op}_1k_ops']:>9} "
              f"{result[f'{op}_1k_vs_boto3']:>7}   >= 20x")
    print(f"median of {rounds} rounds of {seconds} s; cloudstore: the async face, 8 loops on one "
          f"thread")
    for key, values in ops.items():
        print(f"  {key}: " + ", ".join(f"{v:.0f}" for v in values))
    print()
    print(f"{'256 MiB':20} {'cloudstore':>11} {'raw PUT':>9} {'ratio':>7}   goal")
    for way in ("put", "get"):
        print(f"{way + ' MB/s':20} {result[f'{way}_256m_mbps']:>11} {result['raw_256m_mbps']:>9} "
              f"{result[f'{way}_256m_vs_raw']:>7}   >= 0.8x")
    print(f"best of {TRANSFER_ROUNDS} rounds; UNSIGNED-PAYLOAD; the put as multipart, at most "
          f"{transfer['max_parts_in_flight']} parts in flight (the server saw); raw GET "
          f"{result['raw_get_256m_mbps']} MB/s")
    for key in ("raw_put_mbps", "put_mbps", "get_mbps", "raw_get_mbps"):
        print(f"  {key}: " + ", ".join(f"{v:.0f}" for v in transfer[key]))
    print()
    print(f"{'minimal put program':20} {'cloudstore':>11} {'Beast':>9} {'ratio':>7}   goal")
    print(f"{'stripped bytes':20} {result['minimal_s3_bytes']:>11} "
          f"{result['bare_beast_bytes']:>9} {result['minimal_s3_size_ratio']:>7}   <= 1.25x")
    print(f"{'compile + link s':20} {result['minimal_s3_compile_s']:>11} "
          f"{result['bare_beast_compile_s']:>9} {result['minimal_s3_compile_ratio']:>7}   <= 1.5x")
    builds = {name: ", ".join(f"{t:.2f}" for t in built[name][2]) for name in PROGRAMS}
    print(f"{CXX} {' '.join(CXXFLAGS)}, stripped; fastest of {BUILDS} builds "
          f"(cloudstore {builds['minimal_s3_put']}; Beast {builds['bare_beast_put']})")
    print()
    missed = [f"{k} {result[k]} < {v}" for k, v in floors if result[k] is None or result[k] < v]
    missed += [f"{k} {result[k]} > {v}" for k, v in ceilings if result[k] is None or result[k] > v]
    print("goals:", "all met" if not missed else "missed: " + ", ".join(missed))
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
