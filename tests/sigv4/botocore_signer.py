#!/usr/bin/python3
"""botocore side of cloudstore's SigV4 cross-check.

Usage (must run under Debian's interpreter, which carries botocore 1.29.27):

    /usr/bin/python3 botocore_signer.py IN.jsonl OUT.jsonl

Every input line is one request description (see the C++ test that writes
them); every output line holds what botocore itself produced for it, in the
same order.  Nothing here implements SigV4: the URL, the canonical request,
the string to sign, the signature and the aws-chunked framing all come from
botocore's own functions.  This script only feeds them and records the
results.

Which botocore function does what:

* S3 object path: ``botocore.serialize`` (rest-xml serializer,
  ``BaseRestSerializer._render_uri_template``) renders the operation's
  ``/{Bucket}/{Key+}`` URI template from the raw bucket and key: the greedy
  ``{Key+}`` label is ``percent_encode(key, safe='/~')``, ``{Bucket}`` is
  ``percent_encode(bucket)``.  For virtual-hosted addressing the operation
  model is first passed through botocore's own
  ``handlers.remove_bucket_from_url_paths_from_model`` (what botocore 1.29
  does to every S3 operation when the bucket sits in the host), so the
  template becomes ``/{Key+}``.
* Other services' path: ``botocore.utils.percent_encode(path, safe='/~')``
  (each byte of the UTF-8 path except unreserved characters and '/').
* URL assembly: ``botocore.awsrequest.prepare_request_dict`` (joins endpoint
  and path with ``_urljoin`` and appends the query via
  ``botocore.utils.percent_encode_sequence``, which keeps repeated names when
  given a list of pairs), then ``create_request_object`` -> ``AWSRequest``.
* Signing: ``botocore.auth.SigV4Auth`` / ``S3SigV4Auth`` (Authorization
  header) and ``SigV4QueryAuth`` / ``S3SigV4QueryAuth`` (presigned URL),
  through their public ``add_auth``.  ``SigV4Auth._normalize_url_path``
  normalises the path (``utils.normalize_url_path``: drops '.' and '..'
  segments and empty segments) and quotes it again (double encoding); the S3
  classes leave the path as it is.
* aws-chunked: ``botocore.httpchecksum.AwsChunkedWrapper`` with the checksum
  class botocore itself picks from ``httpchecksum._CHECKSUM_CLS``.

The clock: ``add_auth`` reads ``datetime.datetime.utcnow()`` from the
``datetime`` module imported by ``botocore.auth``.  That module reference is
replaced below by a stand-in whose ``datetime`` class returns the case's
time from ``utcnow()``; everything else (``strptime``, ``strftime``) is the
real ``datetime.datetime``.

The payload hash: botocore computes the payload hash itself (SHA-256 of the
body, or UNSIGNED-PAYLOAD when payload signing is switched off through
botocore's own switches: ``Config(s3={'payload_signing_enabled': False})``
for S3, ``request.context['payload_signing_enabled'] = False`` -- what
botocore sets for 'v4-unsigned-body' operations -- for other services;
``S3SigV4QueryAuth`` always uses UNSIGNED-PAYLOAD).  Note that
``S3SigV4Auth._modify_request_before_signing`` deletes any caller-supplied
X-Amz-Content-SHA256 header and replaces it with ``self.payload(request)``,
so a hash cannot be handed to it through that header.  When the hash botocore
arrives at differs from the case's ``payload`` field, the case is signed a
second time with the signer's ``payload()`` method returning the case's
value (the only override in this file; the canonical request, string to
sign and signature still come from botocore), and the output says so with
``payload_forced: true`` and ``botocore_payload``.
"""

import datetime
import io
import json
import sys
import copy
from urllib.parse import urlsplit

import botocore.auth
import botocore.handlers
import botocore.httpchecksum
import botocore.serialize
import botocore.session
from botocore.auth import (
    UNSIGNED_PAYLOAD,
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.model import ServiceModel
from botocore.utils import percent_encode

SIGV4_TIMESTAMP = botocore.auth.SIGV4_TIMESTAMP  # '%Y%m%dT%H%M%SZ'


# --------------------------------------------------------------------------
# Fixed clock for botocore.auth
# --------------------------------------------------------------------------
class _FixedClockDatetime(datetime.datetime):
    """datetime.datetime whose utcnow() returns the current case's time."""

    fixed_now = None

    @classmethod
    def utcnow(cls):
        return cls.fixed_now


class _FixedClockModule:
    """Stands in for the ``datetime`` module inside botocore.auth."""

    datetime = _FixedClockDatetime


botocore.auth.datetime = _FixedClockModule


def _set_clock(stamp):
    when = datetime.datetime.strptime(stamp, SIGV4_TIMESTAMP)
    if when.strftime(SIGV4_TIMESTAMP) != stamp:
        raise ValueError(f'time {stamp!r} does not round-trip')
    _FixedClockDatetime.fixed_now = when


# --------------------------------------------------------------------------
# Signers: botocore's classes plus a record of their intermediate results
# --------------------------------------------------------------------------
class _Recording:
    """Mixin recording what botocore's own methods return during add_auth."""

    forced_payload = None

    def payload(self, request):
        if self.forced_payload is not None:
            return self.forced_payload
        return super().payload(request)

    def canonical_request(self, request):
        self.rec_canonical_request = super().canonical_request(request)
        return self.rec_canonical_request

    def string_to_sign(self, request, canonical_request):
        self.rec_string_to_sign = super().string_to_sign(
            request, canonical_request
        )
        return self.rec_string_to_sign

    def signature(self, string_to_sign, request):
        self.rec_signature = super().signature(string_to_sign, request)
        return self.rec_signature


class _RecSigV4Auth(_Recording, SigV4Auth):
    pass


class _RecS3SigV4Auth(_Recording, S3SigV4Auth):
    pass


class _RecSigV4QueryAuth(_Recording, SigV4QueryAuth):
    pass


class _RecS3SigV4QueryAuth(_Recording, S3SigV4QueryAuth):
    pass


# --------------------------------------------------------------------------
# S3 service model, loaded once
# --------------------------------------------------------------------------
# Operation whose URI template renders the path for each method.  All of
# them are '/{Bucket}/{Key+}'.  POST has no plain object operation (its S3
# operations add a sub-resource such as '?uploads'), so it borrows GetObject's
# template.
_S3_OPERATION_FOR_METHOD = {
    'GET': 'GetObject',
    'PUT': 'PutObject',
    'DELETE': 'DeleteObject',
    'HEAD': 'HeadObject',
    'POST': 'GetObject',
}

_session = botocore.session.get_session()
_loader = _session.get_component('data_loader')
_s3_description = _loader.load_service_model('s3', 'service-2')
# Path-style: the model as shipped ('/{Bucket}/{Key+}').
_s3_model_path = ServiceModel(_s3_description, 's3')
# Virtual-hosted: a copy of the object operations, passed through botocore's
# handler that strips '/{Bucket}' from the request URI.
_virtual_description = dict(_s3_description)
_virtual_description['operations'] = {
    name: copy.deepcopy(_s3_description['operations'][name])
    for name in set(_S3_OPERATION_FOR_METHOD.values())
}
_s3_model_virtual = ServiceModel(_virtual_description, 's3')
for _name in _virtual_description['operations']:
    botocore.handlers.remove_bucket_from_url_paths_from_model(
        params=None,
        model=_s3_model_virtual.operation_model(_name),
        context=None,
    )
_s3_serializer = botocore.serialize.create_serializer(
    _s3_model_path.metadata['protocol'], include_validation=True
)
_S3_UNSIGNED_CONFIG = Config(s3={'payload_signing_enabled': False})
_ALWAYS_REPORTED = {
    'authorization',
    'x-amz-date',
    'x-amz-security-token',
    'x-amz-content-sha256',
}


def _request_dict(case):
    """Serialized request dict (the shape botocore's serializers produce)."""
    method = case['method']
    if case['service'] == 's3':
        addressing = case.get('addressing', 'virtual')
        if addressing == 'virtual':
            model = _s3_model_virtual
        elif addressing == 'path':
            model = _s3_model_path
        else:
            raise ValueError(f'unknown addressing {addressing!r}')
        op_name = _S3_OPERATION_FOR_METHOD.get(method)
        if op_name is None:
            raise ValueError(f'no S3 operation for method {method!r}')
        rd = _s3_serializer.serialize_to_request(
            {'Bucket': case['bucket'], 'Key': case['key']},
            model.operation_model(op_name),
        )
        if rd.get('query_string') or rd.get('headers'):
            raise ValueError('S3 serializer added query or headers')
    else:
        rd = {
            'url_path': percent_encode(case['path'], safe='/~'),
            'query_string': {},
            'headers': {},
            'body': b'',
        }
    rd['method'] = method
    # A list of pairs keeps repeated names; percent_encode_sequence encodes
    # each name and value with safe='-_.~' (RFC 3986 unreserved).
    rd['query_string'] = [(n, v) for n, v in case.get('query') or []]
    rd['body'] = (case.get('body') or '').encode('utf-8')
    return rd


def _build_request(case):
    rd = _request_dict(case)
    context = {}
    if case['payload'] == UNSIGNED_PAYLOAD:
        if case['service'] == 's3':
            context['client_config'] = _S3_UNSIGNED_CONFIG
        else:
            context['payload_signing_enabled'] = False
    prepare_request_dict(
        rd, endpoint_url=f"{case['scheme']}://{case['host']}", context=context
    )
    request = create_request_object(rd)
    # HTTPHeaders.__setitem__ appends, so repeated names stay repeated.
    for name, value in case.get('headers') or []:
        request.headers[name] = value
    return request


def _make_signer(case):
    creds = Credentials(case['access_key'], case['secret_key'], case['token'])
    s3 = case['service'] == 's3'
    if case['mode'] == 'header':
        cls = _RecS3SigV4Auth if s3 else _RecSigV4Auth
        return cls(creds, case['service'], case['region'])
    cls = _RecS3SigV4QueryAuth if s3 else _RecSigV4QueryAuth
    return cls(
        creds, case['service'], case['region'], expires=case['expires']
    )


def _headers_by_name(headers):
    out = {}
    for name, value in headers.items():
        out.setdefault(name.lower(), (name, []))[1].append(value)
    return out


def _sign_once(case, forced_payload):
    request = _build_request(case)
    signer = _make_signer(case)
    signer.forced_payload = forced_payload
    before = _headers_by_name(request.headers)
    signer.add_auth(request)
    return request, signer, before


def sign_case(case):
    if case['mode'] not in ('header', 'query'):
        raise ValueError(f"unknown mode {case['mode']!r}")
    _set_clock(case['time'])
    request, signer, before = _sign_once(case, None)
    natural = signer.rec_canonical_request.rsplit('\n', 1)[1]
    forced = natural != case['payload']
    if forced:
        request, signer, before = _sign_once(case, case['payload'])

    cr = signer.rec_canonical_request
    out = {
        'id': case['id'],
        'canonical_request': cr,
        'string_to_sign': signer.rec_string_to_sign,
        'signature': signer.rec_signature,
        'payload_hash': cr.rsplit('\n', 1)[1],
    }
    if forced:
        out['payload_forced'] = True
        out['botocore_payload'] = natural
    if case['mode'] == 'header':
        out['authorization'] = request.headers['Authorization']
        after = _headers_by_name(request.headers)
        changed = {}
        for lname, (name, values) in after.items():
            old = before.get(lname, (None, None))[1]
            if old != values or lname in _ALWAYS_REPORTED:
                changed[name] = ','.join(values)
        for lname, (name, _values) in before.items():
            if lname not in after:  # botocore removed it
                changed[name] = None
        out['signed_headers'] = changed
    else:
        out['url'] = request.prepare().url
    out['path'] = urlsplit(request.url).path
    return out


# --------------------------------------------------------------------------
# aws-chunked framing with a trailing checksum
# --------------------------------------------------------------------------
def frame_case(case):
    algorithm = case['checksum'].lower()
    # The same table botocore's _apply_request_trailer_checksum consults:
    # 'crc32c' (and the CRT 'crc32') are only there when awscrt is installed.
    checksum_cls = botocore.httpchecksum._CHECKSUM_CLS.get(algorithm)
    if checksum_cls is None:
        raise ValueError(
            f'checksum {algorithm!r} not available in this botocore '
            f'(HAS_CRT={botocore.httpchecksum.HAS_CRT}; crc32c needs awscrt)'
        )
    body = b''.join(c.encode('utf-8') for c in case['chunks'])
    chunk_size = case.get('chunk_size')
    wrapper = botocore.httpchecksum.AwsChunkedWrapper(
        io.BytesIO(body),
        checksum_cls=checksum_cls,
        checksum_name=f'x-amz-checksum-{algorithm}',  # as botocore names it
        chunk_size=chunk_size,
    )
    framed = wrapper.read()
    return {
        'id': case['id'],
        'framed': framed.decode('latin-1'),
        'framed_hex': framed.hex(),
        'chunk_size': wrapper._chunk_size,
        'checksum_class': checksum_cls.__name__,
    }


def process(case):
    if case.get('mode') == 'chunked-trailer':
        return frame_case(case)
    return sign_case(case)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(f'usage: {argv[0]} IN.jsonl OUT.jsonl\n')
        return 2
    with open(argv[1], encoding='utf-8') as fin, open(
        argv[2], 'w', encoding='utf-8', newline='\n'
    ) as fout:
        for line in fin:
            if not line.strip():
                continue
            case_id = None
            try:
                case = json.loads(line)
                case_id = case.get('id')
                result = process(case)
            except Exception as exc:  # one bad case must not stop the run
                result = {
                    'id': case_id,
                    'error': f'{type(exc).__name__}: {exc}',
                }
            fout.write(json.dumps(result, ensure_ascii=True) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
