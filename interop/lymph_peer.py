#!/usr/bin/python3
"""An independent Python lymph peer for the Go library's interop tests.

The real lymph package is not installable here, so this re-implements the wire
contract of docs/protocol.md with nothing but pyzmq and msgpack:

  lymph_peer.py serve [--endpoint tcp://127.0.0.1:PORT] [--name echo] [--version X.Y.Z]
  lymph_peer.py call  [--endpoint tcp://127.0.0.1:PORT] --to tcp://HOST:PORT SUBJECT JSON_KWARGS
                      [--timeout 3] [--trace-id ID] [--version X.Y.Z] [--count N] [--raw-kwargs-hex HEX]
  lymph_peer.py logpub [--endpoint tcp://127.0.0.1:PORT] [--name pyecho] [--interval 0.05]
  lymph_peer.py logsub --to tcp://HOST:PORT [--count N] [--subscribe LEVEL] [--timeout 10]

PORT 0 picks a free port.  See interop/README.md for the output formats.
"""
import argparse
import datetime
import decimal
import hashlib
import inspect as pyinspect  # `inspect` is also the name of a lymph RPC method
import json
import logging
import re
import signal
import socket
import sys
import textwrap
import threading
import time
import uuid
from collections import namedtuple

import msgpack
import zmq

log = logging.getLogger('lymph_peer')
STOP = threading.Event()  # set by SIGTERM/SIGINT; the loops poll in short slices to notice it

# --- serializer: mirrors lymph/serializers/base.py (deliveryhero/lymph) -----

EMBEDDED_MSGPACK_TYPE = 101


class UndefinedType(object):
    """lymph.utils.Undefined; lymph writes the class name as the wire NAME."""

    def __repr__(self):
        return 'Undefined'


Undefined = UndefinedType()


def _parse_datetime(text):
    # lymph reads with iso8601.parse_date(default_timezone=None): an offset
    # ('+0100', '+01:00', 'Z') gives an aware datetime, none gives a naive one.
    for fmt in ('%Y-%m-%dT%H:%M:%S%z', '%Y-%m-%dT%H:%M:%S.%f%z',
                '%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M:%S.%f'):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise ValueError('bad datetime text %r' % (text,))


# NAME (= Python type name, as lymph looks it up) -> (serialize, deserialize).
# Formats are lymph's: strftime drops microseconds, and '%z' is empty for naive
# datetimes (hence "offset may be absent"); time always gets a literal 'Z'.
EXTENSION_TYPES = {
    'datetime': (lambda o: o.strftime('%Y-%m-%dT%H:%M:%S%z'), _parse_datetime),
    'date': (lambda o: o.strftime('%Y-%m-%d'),
             lambda s: datetime.datetime.strptime(s, '%Y-%m-%d').date()),
    'time': (lambda o: o.strftime('%H:%M:%SZ'),
             lambda s: datetime.datetime.strptime(s, '%H:%M:%SZ').time()),
    'Decimal': (str, decimal.Decimal),
    'UUID': (str, uuid.UUID),
    'set': (list, set),
    'UndefinedType': (lambda o: '', lambda s: Undefined),
}


def _dump_object(obj):
    name = type(obj).__name__
    if name in EXTENSION_TYPES:
        # key order as lymph writes it: __type__ first, then _
        return {'__type__': name, '_': EXTENSION_TYPES[name][0](obj)}
    raise TypeError('cannot serialize %r' % (obj,))


def _load_object(obj):
    name = obj.get('__type__')
    if name:
        if name not in EXTENSION_TYPES:  # lymph fails here too (None.deserialize)
            raise ValueError('unknown __type__ %r' % (name,))
        return EXTENSION_TYPES[name][1](obj['_'])
    return obj


def _ext_hook(code, data):
    if code == EMBEDDED_MSGPACK_TYPE:  # a nested msgpack document
        return loads(data)
    return msgpack.ExtType(code, data)


def dumps(obj):
    return msgpack.packb(obj, use_bin_type=True, default=_dump_object)


def loads(data):
    # strict_map_key=False: any msgpack value may be a map key (docs/protocol.md, Bodies).
    return msgpack.unpackb(data, raw=False, strict_map_key=False,
                           object_hook=_load_object, ext_hook=_ext_hook)


def to_json(v):
    """Decoded msgpack value -> JSON-able value, for the `call` output line."""
    if isinstance(v, bytes):
        return {'__bytes__': v.hex()}
    if isinstance(v, dict):  # JSON keys must be text: others become their JSON text
        return {k if isinstance(k, str) else json.dumps(to_json(k)): to_json(x)
                for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, msgpack.ExtType):
        return {'__ext__': v.code, 'data': v.data.hex()}
    name = type(v).__name__
    if name in EXTENSION_TYPES:
        val = to_json(EXTENSION_TYPES[name][0](v))
        if name == 'set':  # set order is arbitrary; sort so the output is stable
            val = sorted(val, key=lambda x: json.dumps(x, sort_keys=True))
        return {'__type__': name, '_': val}
    return v  # None, bool, int, float, str


def from_json(v):
    """JSON input -> value to pack. {"__bytes__": hex} -> bin, {"__msgpack__": v}
    -> ext 101 holding v; {"__type__": .., "_": ..} maps pass through verbatim,
    which is exactly what lymph itself puts on the wire."""
    if isinstance(v, dict):
        if list(v) == ['__bytes__']:
            return bytes.fromhex(v['__bytes__'])
        if list(v) == ['__msgpack__']:
            return msgpack.ExtType(EMBEDDED_MSGPACK_TYPE, dumps(from_json(v['__msgpack__'])))
        return {k: from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    return v


# --- messages and dispatch ---------------------------------------------------

ENDPOINT_RE = re.compile(r'^tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$')
MSG_TYPES = ('REQ', 'REP', 'ACK', 'NACK', 'ERROR')
INPROC = 'inproc://replies'
Msg = namedtuple('Msg', 'source id type subject headers body')
Interface = namedtuple('Interface', 'methods version errors')  # errors: declared exception classes
ACK = object()  # a method returning this is answered with a bare ACK


def valid_endpoint(ep):
    m = ENDPOINT_RE.match(ep)
    return bool(m) and 0 < int(m.group(2)) < 65536


def lymph_identity(endpoint):
    # MD5 of the printed Python 1-tuple, as lymph computes it (docs/protocol.md, Identity and instance ids)
    return hashlib.md5(("('%s',)" % endpoint).encode('utf-8')).hexdigest()


def new_id():
    return uuid.uuid4().hex


def version_ok(have, want):
    """A requested version X.Y[.Z] is served by the same major, >= X.Y.Z."""
    if want is None:
        return True
    if have is None or not isinstance(want, str):
        return False
    try:
        h, w = [[int(p) for p in s.split('.')] + [0] * (3 - len(s.split('.'))) for s in (have, want)]
    except ValueError:
        return False
    return h[0] == w[0] and h >= w


def parse_frames(frames):
    """Six received frames -> Msg; raises ValueError (or a msgpack error) if bad."""
    if len(frames) != 6:
        raise ValueError('bad frame count %d, expected 6' % len(frames))
    source, msg_id, mtype, subject = (f.decode('utf-8') for f in frames[:4])
    if not valid_endpoint(source):  # we reply to it, so it must be an endpoint
        raise ValueError('sender identity %r is not a tcp://host:port URL' % source)
    if mtype not in MSG_TYPES:
        raise ValueError('unknown message type %r' % mtype)
    headers = loads(frames[4]) if frames[4] else {}
    if not isinstance(headers, dict):
        raise ValueError('headers are not a map')
    return Msg(source, msg_id, mtype, subject, headers, loads(frames[5]))


class Peer(object):
    """One lymph instance: a ROUTER bound at its endpoint for everything it
    receives, and a DEALER per peer (identity = own endpoint) for sending."""

    def __init__(self, endpoint, interfaces, builtin_version=None, inspect_str_version=False):
        self.inspect_str_version = inspect_str_version  # lymph writes str(version): "None"
        self.ctx = zmq.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.endpoint = self._bind(self.router, endpoint)
        # Request handlers run in threads, but zmq sockets belong to one thread:
        # handlers push their replies here and the main loop sends them.
        self.inbox = self.ctx.socket(zmq.PULL)
        self.inbox.bind(INPROC)
        self.poller = zmq.Poller()
        self.poller.register(self.router, zmq.POLLIN)
        self.poller.register(self.inbox, zmq.POLLIN)
        self.dealers = {}
        self.request_count = 0
        self.interfaces = {'lymph': Interface(self._builtin_methods(), builtin_version, ())}
        self.interfaces.update(interfaces)

    def _bind(self, sock, endpoint):
        m = ENDPOINT_RE.match(endpoint)
        host, port = m.group(1), int(m.group(2))
        for attempt in range(5):
            if port == 0 or attempt:  # identity must be set before bind, so pick the port first
                with socket.socket(socket.AF_INET6 if host.startswith('[') else socket.AF_INET) as s:
                    s.bind((host.strip('[]'), 0))
                    port = s.getsockname()[1]
            ep = 'tcp://%s:%d' % (host, port)
            sock.setsockopt(zmq.IDENTITY, ep.encode('utf-8'))
            try:
                sock.bind(ep)
                return ep
            except zmq.ZMQError as e:
                if e.errno != zmq.EADDRINUSE or m.group(2) != '0':
                    raise
        raise RuntimeError('no free port found')

    def send(self, peer, frames):
        """Send five frames to peer's endpoint (text frames are UTF-8 encoded)."""
        dealer = self.dealers.get(peer)
        if dealer is None:
            # A DEALER queues until connected, so unlike lymph's ROUTER no sleep is needed.
            dealer = self.dealers[peer] = self.ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.IDENTITY, self.endpoint.encode('utf-8'))
            dealer.setsockopt(zmq.LINGER, 0)
            dealer.connect(peer)
        frames = [f.encode('utf-8') if isinstance(f, str) else f for f in frames]
        try:
            dealer.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            log.warning('send queue to %s full, message dropped', peer)

    def poll_once(self, timeout_ms):
        """Serve one step; return a received reply Msg, if one came in."""
        events = dict(self.poller.poll(min(timeout_ms, 100)))
        if self.inbox in events:
            peer, *frames = self.inbox.recv_multipart()
            self.send(peer.decode('utf-8'), frames)
        if self.router in events:
            frames = self.router.recv_multipart()
            try:
                msg = parse_frames(frames)
            except Exception as e:  # never let a bad message stop the loop
                log.warning('dropped bad message: %s: %s: %r', type(e).__name__, e, frames[:8])
                return None
            if msg.type != 'REQ':
                return msg
            self.request_count += 1
            threading.Thread(target=self._handle_request, args=(msg,), daemon=True).start()
        return None

    def _handle_request(self, msg):
        trace_id = msg.headers.get('trace_id') or new_id()
        mtype, body, headers = self.dispatch(msg, trace_id)
        try:
            packed = [dumps(headers), dumps(body)]
        except Exception:
            log.exception('cannot serialize the reply to %s', msg.subject)
            mtype, packed = 'NACK', [dumps({'trace_id': trace_id}), dumps(None)]
        push = self.ctx.socket(zmq.PUSH)
        push.connect(INPROC)
        push.send_multipart([msg.source.encode('utf-8'), new_id().encode('utf-8'),
                             mtype.encode('ascii'), msg.id.encode('utf-8')] + packed)
        push.close()

    def dispatch(self, msg, trace_id):
        """REQ -> (type, body, headers), following docs/protocol.md's dispatch rules."""
        nack = ('NACK', None, {'trace_id': trace_id})
        iface_name, _, method_name = msg.subject.rpartition('.')
        iface = self.interfaces.get(iface_name)
        if iface is None or method_name not in iface.methods:
            log.warning('NACK: no method %r', msg.subject)
            return nack
        if not version_ok(iface.version, msg.headers.get('version')):
            log.warning('NACK: %r has no version %r', iface_name, msg.headers.get('version'))
            return nack
        func, kwargs = iface.methods[method_name], msg.body
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            log.warning('NACK: %s body is not a map of keyword arguments', msg.subject)
            return nack
        try:
            pyinspect.signature(func).bind(**kwargs)  # missing/extra arguments
        except TypeError as e:
            log.warning('NACK: %s: %s', msg.subject, e)
            return nack
        headers = {'trace_id': trace_id, 'version': iface.version}
        try:
            result = func(**kwargs)
        except iface.errors as e:  # declared errors become ERROR
            return 'ERROR', {'type': type(e).__name__, 'message': str(e)}, headers
        except Exception:  # anything else is a NACK, never a crash
            log.exception('NACK: %s failed', msg.subject)
            return nack
        if result is ACK:
            return 'ACK', None, headers
        return 'REP', result, headers

    def _builtin_methods(self):
        """The `lymph` interface every instance serves."""
        def ping(payload=None):
            return payload

        def status():
            return {'endpoint': self.endpoint, 'identity': lymph_identity(self.endpoint)}

        def inspect():
            """Returns a description of all available rpc methods of this service"""
            return {'methods': [
                {'name': '%s.%s' % (iname, mname),
                 'version': str(iface.version) if self.inspect_str_version else iface.version,
                 'params': list(pyinspect.signature(func).parameters),
                 'help': textwrap.dedent(func.__doc__ or '').strip()}
                for iname, iface in self.interfaces.items()
                for mname, func in iface.methods.items()]}

        def get_metrics():
            return [['rpc.request_count', self.request_count, {}]]

        def change_loglevel(qualname, loglevel, period=60):
            logger = logging.getLogger(qualname)
            old = logger.level
            logger.setLevel(loglevel)
            threading.Timer(period, logger.setLevel, (old,)).start()

        return {f.__name__: f for f in (ping, status, inspect, get_metrics, change_loglevel)}

    def close(self):
        # Worker threads may still hold sockets, so no ctx.term() (it would wait).
        for sock in [self.router, self.inbox] + list(self.dealers.values()):
            sock.close(linger=0)


# --- the `echo` test interface -------------------------------------------------

class Nope(Exception):
    """The declared error of echo.fail."""


def echo_methods():
    def upper(text):
        """Returns text upper-cased."""
        return text.upper()

    def echo(text):
        """Returns text unchanged."""
        return text

    def fail(text):
        """Raises the declared error Nope(text)."""
        raise Nope(text)

    def do_ack():
        """Answers with a bare ACK."""
        return ACK

    def sleep(seconds):
        """Sleeps, then returns None."""
        time.sleep(seconds)

    def echo_types(value):
        """Returns value after a decode/encode round trip with lymph's types."""
        return value

    return {f.__name__: f for f in (upper, echo, fail, do_ack, sleep, echo_types)}


# --- command line ----------------------------------------------------------------

def cmd_serve(args):
    peer = Peer(args.endpoint, {args.name: Interface(echo_methods(), args.version, (Nope,))},
                builtin_version=args.builtin_version, inspect_str_version=args.inspect_str_version)
    print('READY ' + peer.endpoint, flush=True)
    while not STOP.is_set():
        msg = peer.poll_once(100)
        if msg is not None:
            log.info('ignored %s %s from %s', msg.type, msg.subject, msg.source)
    peer.close()


def cmd_call(args, body):
    peer = Peer(args.endpoint, {})
    for _ in range(args.count):
        req_id = new_id()
        headers = {'trace_id': args.trace_id or new_id(), 'version': args.version}
        peer.send(args.to, [req_id, 'REQ', args.subject, dumps(headers), body])
        out = {'type': 'TIMEOUT', 'body': None, 'headers': {}}
        deadline = time.monotonic() + args.timeout
        while not STOP.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # poll_once also answers REQs (e.g. heartbeats) that arrive meanwhile
            msg = peer.poll_once(int(left * 1000) + 1)
            if msg is not None and msg.subject == req_id:
                out = {'type': msg.type, 'body': to_json(msg.body), 'headers': to_json(msg.headers)}
                break
            if msg is not None:
                log.info('ignored %s for %s (late or unknown)', msg.type, msg.subject)
        if STOP.is_set():
            break
        print(json.dumps(out), flush=True)
    peer.close()


# --- log stream: lymph's PubLogHandler and `lymph tail` ---------------------------

LOG_FORMAT = '%(asctime)s [%(levelname)s] %(name)s: %(message)s - trace_id="%(trace_id)s"'


class PubLogHandler(logging.Handler):
    """lymph/utils/logging.py's handler: [levelname, endpoint, line] on a PUB socket."""

    def __init__(self, sock, endpoint):
        super(PubLogHandler, self).__init__()
        self.sock, self.endpoint = sock, endpoint

    def emit(self, record):
        self.sock.send_multipart([record.levelname.encode('utf-8'), self.endpoint.encode('utf-8'),
                                  self.format(record).encode('utf-8')])


def cmd_logpub(args):
    """Bind a PUB socket and log a numbered record at each level in turn, every
    --interval seconds, until stopped: a PUB drops what is sent before a
    subscriber has joined, so a reader just waits for the records to come."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    m = ENDPOINT_RE.match(args.endpoint)
    if m.group(2) == '0':
        port = sock.bind_to_random_port('tcp://' + m.group(1))
        endpoint = 'tcp://%s:%d' % (m.group(1), port)
    else:
        sock.bind(args.endpoint)
        endpoint = args.endpoint
    logger = logging.getLogger(args.name)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = PubLogHandler(sock, endpoint)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    print('READY ' + endpoint, flush=True)
    levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
    seq = 0
    while not STOP.wait(args.interval):
        seq += 1
        logger.log(levels[seq % len(levels)], 'record %d', seq,
                   extra={'trace_id': '%032x' % seq if seq % 2 else None})
    sock.close(linger=0)
    ctx.term()


def cmd_logsub(args):
    """Subscribe to --to as `lymph tail` does and print --count records as JSON
    lines {"topic", "endpoint", "line"}, then exit 0 (exit 1 on --timeout)."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt_string(zmq.SUBSCRIBE, args.subscribe)
    sock.connect(args.to)
    print('READY', flush=True)  # connected (the subscription may still be on its way)
    deadline = time.monotonic() + args.timeout
    got = 0
    while got < args.count and not STOP.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            sock.close(linger=0)
            ctx.term()
            return 1
        if sock.poll(min(100, int(left * 1000) + 1)):
            topic, endpoint, line = sock.recv_multipart()
            print(json.dumps({'topic': topic.decode('utf-8'), 'endpoint': endpoint.decode('utf-8'),
                              'line': line.decode('utf-8')}), flush=True)
            got += 1
    sock.close(linger=0)
    ctx.term()
    return 0


def main(argv=None):
    def endpoint(text):
        if not valid_endpoint(text) and not re.match(r'^tcp://[^/]+:0$', text):
            raise argparse.ArgumentTypeError('not a tcp://host:port endpoint: %r' % text)
        return text

    def peer_endpoint(text):
        if not valid_endpoint(text):
            raise argparse.ArgumentTypeError('not a tcp://host:port endpoint: %r' % text)
        return text

    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-v', '--verbose', action='store_true', help='log at INFO on stderr')
    sub = ap.add_subparsers(dest='cmd', required=True)
    sp = sub.add_parser('serve', help='serve the lymph and echo interfaces')
    sp.add_argument('--endpoint', type=endpoint, default='tcp://127.0.0.1:0')
    sp.add_argument('--name', default='echo', help='name of the test interface')
    sp.add_argument('--version', default=None, help='version of the test interface')
    sp.add_argument('--builtin-version', default=None,
                    help="version of the builtin lymph interface (real lymph: its own, e.g. 0.16.0-dev)")
    sp.add_argument('--inspect-str-version', action='store_true',
                    help='write versions in inspect as str(version), as real lymph does ("None")')
    cp = sub.add_parser('call', help='send REQs and print the replies as JSON lines')
    cp.add_argument('--endpoint', type=endpoint, default='tcp://127.0.0.1:0')
    cp.add_argument('--to', type=peer_endpoint, required=True)
    cp.add_argument('subject')
    cp.add_argument('kwargs', nargs='?', default='{}', help='JSON body (normally an object)')
    cp.add_argument('--timeout', type=float, default=3.0)
    cp.add_argument('--trace-id', default=None)
    cp.add_argument('--version', default=None, help='interface version to request')
    cp.add_argument('--count', type=int, default=1)
    cp.add_argument('--raw-kwargs-hex', default=None, help='send these bytes verbatim as the body')
    lp = sub.add_parser('logpub', help="publish log records as lymph's PubLogHandler does")
    lp.add_argument('--endpoint', type=endpoint, default='tcp://127.0.0.1:0')
    lp.add_argument('--name', default='pyecho', help='logger name in the lines')
    lp.add_argument('--interval', type=float, default=0.05)
    ls = sub.add_parser('logsub', help='read a log stream as lymph tail does')
    ls.add_argument('--to', type=peer_endpoint, required=True)
    ls.add_argument('--count', type=int, default=1)
    ls.add_argument('--subscribe', default='', help='topic prefix (level name) to subscribe to')
    ls.add_argument('--timeout', type=float, default=10.0)
    args = ap.parse_args(argv)

    logging.basicConfig(stream=sys.stderr, level=logging.INFO if args.verbose else logging.WARNING,
                        format='lymph_peer[%(process)d] %(levelname)s %(message)s')
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: STOP.set())

    if args.cmd == 'serve':
        cmd_serve(args)
        return 0
    if args.cmd == 'logpub':
        cmd_logpub(args)
        return 0
    if args.cmd == 'logsub':
        return cmd_logsub(args)
    try:
        if args.raw_kwargs_hex is not None:
            body = bytes.fromhex(args.raw_kwargs_hex)
        else:
            body = dumps(from_json(json.loads(args.kwargs)))
    except ValueError as e:
        ap.error('bad JSON_KWARGS / --raw-kwargs-hex: %s' % e)
    if args.count < 1 or args.timeout <= 0:
        ap.error('--count must be >= 1 and --timeout > 0')
    cmd_call(args, body)
    return 0


if __name__ == '__main__':
    sys.exit(main())
