#!/usr/bin/python3
"""Self-check of lymph_peer.py: starts `serve`, drives it with `call` and with
raw zmq sockets (to check the wire format independently), then stops it.
Run: /usr/bin/python3 interop/test_self.py   (exit 0 = all good)"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = [sys.executable, os.path.join(HERE, 'lymph_peer.py')]
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep interop/ free of __pycache__
import lymph_peer  # noqa: E402  (for the pure functions)

failures = []


def check(name, cond, detail=''):
    print('%s %s %s' % ('ok  ' if cond else 'FAIL', name, detail if not cond else ''))
    if not cond:
        failures.append(name)


def call(ep, subject, kwargs='{}', *extra, timeout='3'):
    out = subprocess.run(PEER + ['call', '--to', ep, subject, kwargs, '--timeout', timeout] + list(extra),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def raw_exchange(ep, frames, timeout_ms=2000):
    """Send raw frames as a lymph peer would; return the frames received back (or None)."""
    ctx = zmq.Context.instance()
    router = ctx.socket(zmq.ROUTER)
    # identity must be set before bind: take a free port from a throwaway socket
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    me = 'tcp://127.0.0.1:%d' % port
    router.setsockopt(zmq.IDENTITY, me.encode())
    router.bind(me)
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.IDENTITY, me.encode())
    dealer.connect(ep)
    dealer.send_multipart(frames)
    got = router.recv_multipart() if router.poll(timeout_ms) else None
    for s in (router, dealer):
        s.close(linger=0)
    return got


def main():
    # pure functions: identity from docs/protocol.md's example, serializer round trip
    check('identity example', lymph_peer.lymph_identity('tcp://127.0.0.1:47411') == '465b1d832bc83802948e8a91d085832f')
    import datetime, decimal
    v = [datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), datetime.date(2020, 1, 2),
         datetime.time(3, 4, 5), decimal.Decimal('1.5'), uuid.UUID(int=1), {1, 2}, b'\x00']
    check('serializer round trip', lymph_peer.loads(lymph_peer.dumps(v)) == v)
    check('datetime text', msgpack.unpackb(lymph_peer.dumps(v[0]))['_'] == '2020-01-02T03:04:05+0000')

    srv = subprocess.Popen(PEER + ['serve', '--endpoint', 'tcp://127.0.0.1:0'], stdout=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline().strip()
        check('READY line', re.match(r'^READY tcp://127\.0\.0\.1:\d+$', line) is not None, line)
        ep = line.split()[1]

        r = call(ep, 'echo.upper', '{"text": "foo"}')[0]
        check('upper -> REP FOO', r['type'] == 'REP' and r['body'] == 'FOO', r)
        check('reply headers', set(r['headers']) == {'trace_id', 'version'} and r['headers']['version'] is None, r)
        r = call(ep, 'echo.upper', '{"text": "x"}', '--trace-id', 'a' * 32)[0]
        check('trace_id carried', r['headers']['trace_id'] == 'a' * 32, r)
        r = call(ep, 'echo.fail', '{"text": "why"}')[0]
        check('fail -> ERROR Nope', r['type'] == 'ERROR' and r['body'] == {'type': 'Nope', 'message': 'why'}, r)
        for subj, kw in [('echo.unknown', '{}'), ('nope.upper', '{"text": "a"}'), ('echo.upper', '{}'),
                         ('echo.upper', '{"text": "a", "extra": 1}'), ('echo.upper', '[1]'), ('echo.upper', '{"text": 5}')]:
            r = call(ep, subj, kw)[0]
            check('%s %s -> NACK' % (subj, kw), r['type'] == 'NACK' and r['body'] is None
                  and list(r['headers']) == ['trace_id'], r)
        r = call(ep, 'echo.upper', '{"text": "a"}', '--version', '1.0')[0]
        check('unknown version -> NACK', r['type'] == 'NACK', r)
        r = call(ep, 'echo.do_ack')[0]
        check('do_ack -> ACK', r['type'] == 'ACK' and r['body'] is None, r)
        r = call(ep, 'lymph.ping', '{"payload": {"k": [1, "two", {"__bytes__": "00ff"}]}}')[0]
        check('lymph.ping -> payload', r['type'] == 'REP' and r['body'] == {'k': [1, 'two', {'__bytes__': '00ff'}]}, r)
        r = call(ep, 'lymph.status')[0]
        check('lymph.status', r['body'] == {'endpoint': ep, 'identity': lymph_peer.lymph_identity(ep)}, r)
        r = call(ep, 'lymph.inspect')[0]
        names = [m['name'] for m in r['body']['methods']]
        check('lymph.inspect', 'lymph.ping' in names and 'echo.upper' in names, names)
        typed = [{'__type__': 'datetime', '_': '2020-01-02T03:04:05+0100'}, {'__type__': 'datetime', '_': '2020-01-02T03:04:05'},
                 {'__type__': 'date', '_': '2020-01-02'}, {'__type__': 'time', '_': '03:04:05Z'},
                 {'__type__': 'Decimal', '_': '1.50'}, {'__type__': 'UUID', '_': '12345678-1234-5678-1234-567812345678'},
                 {'__type__': 'set', '_': [1, 2, 3]}]
        r = call(ep, 'echo.echo_types', json.dumps({'value': typed + [{'__msgpack__': {'x': 1}}]}))[0]
        check('echo_types round trip', r['type'] == 'REP' and r['body'] == typed + [{'x': 1}], r)
        rs = call(ep, 'echo.echo', '{"text": "n"}', '--count', '3')
        check('--count 3', [x['body'] for x in rs] == ['n'] * 3, rs)

        # a slow request must not block the loop; the caller times out alone
        slow = subprocess.Popen(PEER + ['call', '--to', ep, 'echo.sleep', '{"seconds": 1.5}', '--timeout', '0.3'],
                                stdout=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        r = call(ep, 'echo.upper', '{"text": "fast"}')[0]
        check('served while sleeping', r['body'] == 'FAST' and time.monotonic() - t0 < 1.4)
        check('sleep -> TIMEOUT', json.loads(slow.communicate(timeout=10)[0])['type'] == 'TIMEOUT')

        # bad input is dropped and the server keeps serving
        r = call(ep, 'echo.upper', '{}', '--raw-kwargs-hex', 'c1', timeout='0.5')[0]
        check('bad msgpack body -> dropped', r['type'] == 'TIMEOUT', r)
        check('bad frame count -> dropped', raw_exchange(ep, [b'only', b'two'], 300) is None)
        ctx = zmq.Context.instance()
        bad = ctx.socket(zmq.DEALER)
        bad.setsockopt(zmq.IDENTITY, b'not-an-endpoint')
        bad.connect(ep)
        bad.send_multipart([uuid.uuid4().hex.encode(), b'REQ', b'lymph.ping', b'', msgpack.packb({'payload': 1})])
        time.sleep(0.2)
        bad.close(linger=0)

        # wire format, checked with raw sockets instead of lymph_peer's own client
        req_id = uuid.uuid4().hex
        got = raw_exchange(ep, [req_id.encode(), b'REQ', b'lymph.ping', b'',  # empty headers frame = no headers
                                msgpack.packb({'payload': b'\x01'}, use_bin_type=True)])
        check('raw reply: 6 frames', got is not None and len(got) == 6, got)
        if got:
            src, mid, mtype, subj, hdrs, body = got
            hdrs = msgpack.unpackb(hdrs, raw=False)
            check('raw reply: source/id/type/subject', src == ep.encode() and re.match(rb'^[0-9a-f]{32}$', mid)
                  and mid != req_id.encode() and mtype == b'REP' and subj == req_id.encode(), got)
            check('raw reply: new trace_id, bin body', re.match(r'^[0-9a-f]{32}$', hdrs['trace_id'] or '')
                  and msgpack.unpackb(body, raw=False) == b'\x01', got)
        check('still alive', srv.poll() is None and call(ep, 'echo.upper', '{"text": "ok"}')[0]['body'] == 'OK')
    finally:
        srv.send_signal(signal.SIGTERM)
        rc = srv.wait(timeout=5)
    check('SIGTERM -> clean exit 0', rc == 0, rc)
    print('%d failure(s)' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
