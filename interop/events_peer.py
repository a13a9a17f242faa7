#!/usr/bin/python3
"""An independent Python peer for lymph's events over RabbitMQ (no lymph).

It publishes and consumes in Python lymph's layout as docs/events.md describes
(lymph/events/kombu.py), on Debian's python3-kombu and python3-msgpack:

    events_peer.py publish URL TYPE [JSON] [--trace-id ID] [--delay MS] [--count N]
        Emits like KombuEventSystem.emit: to the topic exchange `lymph`
        (routing key TYPE), or for --delay through lymph's `<TYPE>-wait_<MS>`
        queue bound to `lymph_waiting`, exactly as lymph does. JSON is the
        body; with --count, each copy gets "i": 0..N-1 added.

    events_peer.py consume URL QUEUE TYPE... [--broadcast]
        Declares QUEUE as lymph's EventConsumer does (non-durable,
        x-ha-policy=all; --broadcast: auto-delete), binds it to `lymph` per
        TYPE and to `lymph_retry` with its own name, prints READY, then one
        JSON line per event {type, body, headers, source, content_type,
        delivery_mode}, acking each, until stdin closes.

Exit code 0 on success; errors (a 406 included) go to stderr with code 1.
"""
import json
import select
import sys

import kombu
import msgpack
from kombu import serialization

CONTENT_TYPE = 'application/lymph+x-msgpack'


def _dumps(obj):
    return msgpack.packb(obj, use_bin_type=True)


def _loads(data):
    return msgpack.unpackb(data, raw=False)


# lymph registers its serializer through kombu's entry points; the same,
# by hand (lymph/serializers/kombu.py).
serialization.register('lymph-msgpack', _dumps, _loads, content_type=CONTENT_TYPE, content_encoding='binary')


def exchanges(name='lymph'):
    # KombuEventSystem.__init__ (lymph/events/kombu.py:166-176).
    return (kombu.Exchange(name, 'topic', durable=True),
            kombu.Exchange('%s_waiting' % name, 'direct', durable=True),
            kombu.Exchange('%s_retry' % name, 'direct', durable=True))


def publish(url, event_type, body, trace_id=None, delay_ms=0, count=0):
    main, waiting, _ = exchanges()
    with kombu.Connection(url) as conn:
        ch = conn.channel()
        main(ch).declare()
        waiting(ch).declare()
        if delay_ms:
            # EventProducerWithDelay: a wait queue bound to lymph_waiting.
            q = kombu.Queue('%s-wait_%s' % (event_type, delay_ms), waiting, routing_key=event_type,
                            durable=False, queue_arguments={
                                'x-dead-letter-exchange': main.name,
                                'x-dead-letter-routing-key': event_type,
                                'x-message-ttl': delay_ms,
                                'x-ha-policy': 'all',
                            })
            q(ch).declare()
            exchange = waiting
        else:
            exchange = main
        producer = kombu.Producer(ch, exchange=exchange, routing_key=event_type, serializer='lymph-msgpack')
        for i in range(count or 1):
            b = dict(body) if isinstance(body, dict) else body
            if count:
                b['i'] = i
            event = {'type': event_type, 'headers': {'trace_id': trace_id}, 'body': b, 'source': 'python-peer'}
            producer.publish(event)


def consume(url, queue_name, types, broadcast=False):
    main, _, retry = exchanges()
    with kombu.Connection(url) as conn:
        ch = conn.channel()
        main(ch).declare()
        retry(ch).declare()
        # KombuEventSystem.get_queue (lymph/events/kombu.py:236-240).
        q = kombu.Queue(queue_name, durable=False, auto_delete=broadcast,
                        queue_arguments={'x-ha-policy': 'all'})(ch)
        q.declare()
        for t in types:
            q.bind_to(exchange=main(ch), routing_key=t)
        q.bind_to(exchange=retry(ch), routing_key=queue_name)

        def on_message(body, message):
            out = {
                'type': body.get('type'),
                'body': body.get('body', {}),
                'headers': body.get('headers') or {},
                'source': body.get('source'),
                'content_type': message.content_type,
                'delivery_mode': message.properties.get('delivery_mode'),
            }
            sys.stdout.write(json.dumps(out, default=str) + '\n')
            sys.stdout.flush()
            message.ack()

        with kombu.Consumer(ch, queues=[q], callbacks=[on_message], accept=['lymph-msgpack']):
            sys.stdout.write('READY\n')
            sys.stdout.flush()
            while True:
                r, _, _ = select.select([sys.stdin], [], [], 0)
                if r and not sys.stdin.readline():
                    return
                try:
                    conn.drain_events(timeout=0.1)
                except TimeoutError:
                    pass
                except OSError as e:  # socket.timeout on older kombu
                    if 'timed out' not in str(e):
                        raise


def main(argv):
    import argparse
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    pp = sub.add_parser('publish')
    pp.add_argument('url')
    pp.add_argument('type')
    pp.add_argument('body', nargs='?', default='{}')
    pp.add_argument('--trace-id')
    pp.add_argument('--delay', type=int, default=0)
    pp.add_argument('--count', type=int, default=0)
    pc = sub.add_parser('consume')
    pc.add_argument('url')
    pc.add_argument('queue')
    pc.add_argument('types', nargs='+')
    pc.add_argument('--broadcast', action='store_true')
    a = p.parse_args(argv)
    try:
        if a.cmd == 'publish':
            publish(a.url, a.type, json.loads(a.body), a.trace_id, a.delay, a.count)
        else:
            consume(a.url, a.queue, a.types, a.broadcast)
    except Exception as e:
        sys.stderr.write('events_peer: %s: %s\n' % (type(e).__name__, e))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
