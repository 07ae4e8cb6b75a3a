#!/usr/bin/python3
"""Turns Google Benchmark JSON into a table for people and, as the last line, RESULT {json}.

usage: report.py SUITE RESULTS.json [PEER.json ...]
checksum: each benchmark is named NAME/piece:N; the median of the repetitions is used. Keys
are NAME_gbps for whole 1 MiB buffers and NAME_4k_gbps for 4 KiB updates.
sigv4: each benchmark's median real time per iteration in ns; PEER.json files hold the peers'
figures as one flat JSON object each and are merged in.
client: the same ns per call; PEER.json holds the stripped examples' sizes in bytes. The mixins'
overhead is what the mixins client takes beyond the bare one and the checksum's own work."""
import json
import sys

SUITES = {
    "checksum": {
        # RESULT key -> (benchmark name, piece)
        "keys": [
            ("sha256_gbps", "sha256", 1048576), ("openssl_sha256_gbps", "openssl_sha256", 1048576),
            ("sha256_4k_gbps", "sha256", 4096), ("openssl_sha256_4k_gbps", "openssl_sha256", 4096),
            ("md5_gbps", "md5", 1048576), ("openssl_md5_gbps", "openssl_md5", 1048576),
            ("md5_4k_gbps", "md5", 4096), ("openssl_md5_4k_gbps", "openssl_md5", 4096),
            ("crc32c_gbps", "crc32c", 1048576), ("crc32c_4k_gbps", "crc32c", 4096),
            ("isal_crc32c_gbps", "isal_crc32c", 1048576), ("isal_crc32c_4k_gbps", "isal_crc32c", 4096),
            ("crc32c_portable_gbps", "crc32c_portable", 1048576),
            ("crc32c_portable_4k_gbps", "crc32c_portable", 4096),
            ("crc32_gbps", "crc32", 1048576), ("crc32_4k_gbps", "crc32", 4096),
            ("crc64nvme_gbps", "crc64nvme", 1048576), ("crc64nvme_4k_gbps", "crc64nvme", 4096),
        ],
        # ratio key -> (numerator key, denominator key)
        "ratios": [
            ("sha256_4k_vs_openssl", "sha256_4k_gbps", "openssl_sha256_4k_gbps"),
            ("sha256_vs_openssl", "sha256_gbps", "openssl_sha256_gbps"),
            ("md5_4k_vs_openssl", "md5_4k_gbps", "openssl_md5_4k_gbps"),
            ("crc32c_4k_vs_isal", "crc32c_4k_gbps", "isal_crc32c_4k_gbps"),
            ("crc32c_vs_isal", "crc32c_gbps", "isal_crc32c_gbps"),
        ],
        # goals from the issue: (key, minimum)
        "goals": [
            ("sha256_4k_vs_openssl", 0.95), ("crc32c_4k_vs_isal", 0.9),
            ("crc32c_portable_gbps", 12.0), ("crc64nvme_gbps", 10.0),
        ],
    },
    "sigv4": {
        # RESULT key -> benchmark name (ns per iteration)
        "ns_keys": [("header_sign_ns", "header_sign"), ("presign_ns", "presign")],
        "ratios": [
            ("header_speedup_vs_botocore", "botocore_header_sign_ns", "header_sign_ns"),
            ("presign_speedup_vs_botocore", "botocore_presign_ns", "presign_ns"),
            ("header_speedup_vs_smithy", "smithy_header_sign_ns", "header_sign_ns"),
            ("presign_speedup_vs_smithy", "smithy_presign_ns", "presign_ns"),
        ],
        "goals": [],
        "ceilings": [("header_sign_ns", 800), ("presign_ns", 1200)],
    },
    "client": {
        "ns_keys": [
            ("bare_put_ns", "bare_put"), ("bare_get_ns", "bare_get"),
            ("mixins_put_ns", "mixins_put"), ("mixins_get_ns", "mixins_get"),
            ("async_put_ns", "async_put"), ("checksum_1k_ns", "checksum_1k"),
        ],
        "ratios": [],
        # key -> minuend minus each subtrahend
        "differences": [
            ("mixins_overhead_put_ns", "mixins_put_ns", ("bare_put_ns", "checksum_1k_ns")),
            ("mixins_overhead_get_ns", "mixins_get_ns", ("bare_get_ns", "checksum_1k_ns")),
        ],
        "goals": [],
        # goals from the issue: (key, strict upper bound)
        "under": [("mixins_overhead_put_ns", 100), ("mixins_overhead_get_ns", 100)],
    },
}


def main():
    suite, path, peer_paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    spec = SUITES[suite]
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    result = {}
    if "ns_keys" in spec:
        for key, bench in spec["ns_keys"]:
            for r in runs:
                if r.get("run_name", r["name"]) == bench and r.get("aggregate_name") == "median":
                    scale = {"ns": 1, "us": 1e3, "ms": 1e6}[r.get("time_unit", "ns")]
                    result[key] = round(r["real_time"] * scale)
    for peer in peer_paths:
        with open(peer) as f:
            result.update(json.load(f))
    medians = {}
    for r in runs:
        if r.get("aggregate_name", "median") != "median" or "bytes_per_second" not in r:
            continue
        name = r["run_name"] if "run_name" in r else r["name"]
        base, _, arg = name.partition("/piece:")
        piece = int(arg.split("/")[0]) if arg else 0
        medians[(base, piece)] = r["bytes_per_second"] / 1e9
    for key, bench, piece in spec.get("keys", []):
        if (bench, piece) in medians:
            result[key] = round(medians[(bench, piece)], 2)
    for key, num, den in spec["ratios"]:
        if num in result and den in result and result[den] > 0:
            result[key] = round(result[num] / result[den], 3 if suite == "checksum" else 1)
    for key, minuend, subtrahends in spec.get("differences", []):
        if minuend in result and all(k in result for k in subtrahends):
            result[key] = result[minuend] - sum(result[k] for k in subtrahends)
    print()
    print(f"{'figure':28} {'value':>10}")
    for key, value in result.items():
        print(f"{key:28} {value:>10}")
    print()
    for key, minimum in spec["goals"]:
        value = result.get(key)
        verdict = "missing" if value is None else ("met" if value >= minimum else "NOT MET")
        print(f"goal {key} >= {minimum}: {value} ({verdict})")
    for key, maximum in spec.get("ceilings", []):
        value = result.get(key)
        verdict = "missing" if value is None else ("met" if value <= maximum else "NOT MET")
        print(f"goal {key} <= {maximum}: {value} ({verdict})")
    for key, bound in spec.get("under", []):
        value = result.get(key)
        verdict = "missing" if value is None else ("met" if value < bound else "NOT MET")
        print(f"goal {key} < {bound}: {value} ({verdict})")
    print("RESULT " + json.dumps(result, separators=(", ", ": ")))


if __name__ == "__main__":
    main()
