// Peer for `benchmarks/run sigv4`: @smithy/signature-v4 (the AWS SDK for JavaScript v3 signer),
// in nanoseconds per request.
//
//     node benchmarks/sigv4_smithy.mjs
//
// Two operations on one GET of an S3 object, signed at the fixed time 2026-11-24T12:00:00Z with
// static credentials (no session token), region us-east-1, service s3:
//
// - header signing: SignatureV4.sign, giving the Authorization header;
// - presigning: SignatureV4.presign with expiresIn 3600, giving the presigned URL.
//
// The signer is set up as the SDK's S3 client and S3 presigner set it up: sha256 is
// @smithy/hash-node's Hash bound to "sha256", uriEscapePath false (S3 signs the path as sent),
// applyChecksum false (as the presigner; for header signing it makes no difference here, since
// the request already carries x-amz-content-sha256). The signing time is passed as
// signingDate, smithy's own option for it. Each iteration builds a fresh HttpRequest (the class
// the SDK's serializers build) and awaits the signer, as a client does per call: the awaits are
// part of the real cost. The credentials and the signer are built once. After a warm-up that
// also sizes the run, each operation is timed over about TARGET_SECONDS of iterations, five
// times, and the median is reported.
//
// stderr: one human line per figure, and the Authorization header and the URL produced.
// stdout: exactly one line, {"smithy_header_sign_ns": N, "smithy_presign_ns": N}.
//
// The packages are resolved from scripts/node/node_modules (installed by scripts/install-deps),
// whatever the current directory: ESM ignores NODE_PATH, so require() is created on
// scripts/node/package.json, found relative to this file.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const nodeDir = new URL("../scripts/node/", import.meta.url);
if (!existsSync(new URL("node_modules/@smithy/signature-v4", nodeDir))) {
    process.stderr.write(
        `sigv4_smithy: @smithy/signature-v4 is not installed in ${fileURLToPath(nodeDir)}node_modules;` +
            " run scripts/install-deps\n",
    );
    process.exit(1);
}
const require = createRequire(new URL("package.json", nodeDir));
const { SignatureV4 } = require("@smithy/signature-v4");
const { Hash } = require("@smithy/hash-node");
const { HttpRequest, buildQueryString } = require("@smithy/core/protocols");
const signatureV4Version = require("@smithy/signature-v4/package.json").version;

const SIGNING_DATE = new Date("2026-11-24T12:00:00Z");
const CREDENTIALS = {
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    // no sessionToken
};
const REGION = "us-east-1";
const HOST = "examplebucket.s3.us-east-1.amazonaws.com";
const PATH = "/audio/user-42/3f2a9c_20261124_120000.wav";
const EXPIRES_IN = 3600;

const REPETITIONS = 5;
const TARGET_SECONDS = 1.0; // per timed repetition
const WARMUP_SECONDS = 0.5; // longer than botocore's: lets V8 optimise the hot paths

// The GET, with Host and x-amz-content-sha256: UNSIGNED-PAYLOAD, a new object per call.
// The presign request uses the header name as the S3 presigner writes it,
// "X-Amz-Content-Sha256": presign hoists x-amz-* headers into the query under the name given,
// so the URL carries X-Amz-Content-Sha256=UNSIGNED-PAYLOAD (signed, as a query parameter) and
// only host is a signed header. The header also makes smithy sign the payload as
// UNSIGNED-PAYLOAD; without it a GET without a body would be signed with the empty-body hash.
const headerRequest = () =>
    new HttpRequest({
        method: "GET",
        protocol: "https:",
        hostname: HOST,
        path: PATH,
        query: {},
        headers: { host: HOST, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    });
const presignRequest = () =>
    new HttpRequest({
        method: "GET",
        protocol: "https:",
        hostname: HOST,
        path: PATH,
        query: {},
        headers: { host: HOST, "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD" },
    });

// The URL of a presigned request, put together as the SDK's formatUrl does (with smithy's
// query-string builder). Part of the timed presign: botocore's presigner returns a URL too.
const toUrl = (request) =>
    `${request.protocol}//${request.hostname}${request.path}?${buildQueryString(request.query)}`;

const signer = new SignatureV4({
    credentials: CREDENTIALS,
    region: REGION,
    service: "s3",
    sha256: Hash.bind(null, "sha256"),
    uriEscapePath: false,
    applyChecksum: false,
});
const signOptions = { signingDate: SIGNING_DATE };
const presignOptions = { signingDate: SIGNING_DATE, expiresIn: EXPIRES_IN };

const headerSign = async () => (await signer.sign(headerRequest(), signOptions)).headers.authorization;
const presign = async () => toUrl(await signer.presign(presignRequest(), presignOptions));

// Nanoseconds for `iterations` fresh requests built and signed, each awaited.
async function runLoop(operation, iterations) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
        await operation();
    }
    return Number(process.hrtime.bigint() - start);
}

// Median ns per operation over REPETITIONS timed runs of about TARGET_SECONDS each.
async function measure(operation) {
    // Warm-up, doubling until it lasts WARMUP_SECONDS; it also gives the rate to size the runs.
    let iterations = 64;
    let elapsed;
    for (;;) {
        elapsed = await runLoop(operation, iterations);
        if (elapsed >= WARMUP_SECONDS * 1e9) {
            break;
        }
        iterations *= 2;
    }
    const timedIterations = Math.max(1, Math.floor((iterations * TARGET_SECONDS * 1e9) / elapsed));
    const perOp = [];
    for (let r = 0; r < REPETITIONS; r++) {
        perOp.push((await runLoop(operation, timedIterations)) / timedIterations);
    }
    perOp.sort((a, b) => a - b);
    return { ns: Math.round(perOp[Math.floor(REPETITIONS / 2)]), iterations: timedIterations };
}

const authorization = await headerSign();
const url = await presign();
const header = await measure(headerSign);
const presigned = await measure(presign);

const log = (line) => process.stderr.write(`${line}\n`);
log(`@smithy/signature-v4 ${signatureV4Version} (Node ${process.versions.node})`);
log(`smithy Authorization: ${authorization}`);
log(`smithy presigned URL: ${url}`);
log(
    `smithy header sign (SignatureV4.sign):  ${String(header.ns).padStart(8)} ns/request ` +
        `(median of ${REPETITIONS} x ${header.iterations} iterations)`,
);
log(
    `smithy presign (SignatureV4.presign):   ${String(presigned.ns).padStart(8)} ns/request ` +
        `(median of ${REPETITIONS} x ${presigned.iterations} iterations)`,
);
process.stdout.write(`${JSON.stringify({ smithy_header_sign_ns: header.ns, smithy_presign_ns: presigned.ns })}\n`);
