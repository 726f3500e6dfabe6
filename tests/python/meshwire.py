"""meshwire: a mesh client written from docs/protocol.md alone.

This module is the proof that docs/protocol.md is enough to talk to a mesh
broker from another language: it was written from the document, not from
libmesh. It knows the two sockets, the event envelope, the [bus][event]
ingest message and, on the deliver side (protocol version 3: frame 1 is the
topic immediately followed by the header), the [topic+header][event]
delivery, whose header is only {"v": 3, "route": N, "seq": S}, and the
one-frame [topic+header] hello, heartbeat and route messages; and nothing
else.

A subscriber's stream starts at its first hello: what comes on the topic
before it is ignored. A route message says what a delivery's route number
means (its bus and rule); the table of them is emptied at every hello, and
a delivery whose route is not in it is malformed. The epoch of a delivery
is that of the hello or heartbeat before it. Delivery objects give all of
this resolved: msg.bus, msg.rule, msg.epoch, msg.seq, next to msg.header,
the header exactly as it came.

    ctx = zmq.Context()
    pub = Publisher(ctx, "tcp://127.0.0.1:5600", "eda_bus")     # waits for b"\\x01"
    sub = Subscriber(ctx, "tcp://127.0.0.1:5601", "rewards")
    hello = sub.wait_hello(timeout_ms=2000)                     # subscription is live
    pub.put("demo.payments", "Payment Processed", {"total_cost": 242.58})
    msg = sub.recv(timeout_ms=2000)                             # a Delivery
    print(msg.bus, msg.rule, msg.seq, msg.event["detail"])

Every receive takes a timeout and raises Timeout when it passes, so a
caller never blocks forever; a message that breaks the document's reader
rules raises MeshError (the Subscriber stays usable: the next receive reads
the next message). Needs pyzmq and msgpack (Debian: python3-zmq,
python3-msgpack).
"""

import datetime
import re
import uuid

import msgpack
import zmq

PROTOCOL_VERSION = 3

#  A route number is below this (2^20).
ROUTE_MAX = 1 << 20

#  Names, as the document gives them.
BUS_NAME = re.compile(r"\A[A-Za-z0-9._/-]{1,256}\Z")
TARGET_NAME = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")

#  The envelope's keys, in the order the document gives.
ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time",
                 "region", "resources", "detail")

#  EventBridge's limit on one entry, as the document counts it.
MAX_ENTRY_SIZE = 256 * 1024


class MeshError(Exception):
    """Bad input refused on this side, or a message that breaks the protocol."""


class Timeout(MeshError):
    """Nothing arrived in time."""


def now_rfc3339():
    """The current time, RFC 3339 UTC to the second ("2026-11-27T09:00:00Z")."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_event(source, detail_type, detail, resources=(), account="000000000000",
               region="local", time=None, event_id=None, **extra):
    """An event envelope as a dict in the document's key order; extra keys
    (further top-level keys, passed through by the broker) come last."""
    event = {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time or now_rfc3339(),
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }
    event.update(extra)
    return event


def pack(value):
    """MessagePack as the document asks: str for strings, never bin."""
    return msgpack.packb(value, use_bin_type=True)


def unpack(data):
    """One MessagePack value; str keys and values, bin refused as not UTF-8."""
    return msgpack.unpackb(data, raw=False, strict_map_key=True)


def entry_size(event):
    """The size EventBridge counts for an entry: the UTF-8 bytes of source,
    detail-type, the detail (as JSON text) and each resource, plus 14 for a
    time."""
    import json
    size = len(event["source"].encode()) + len(event["detail-type"].encode())
    size += len(json.dumps(event["detail"], separators=(",", ":"),
                           ensure_ascii=False).encode())
    size += sum(len(r.encode()) for r in event.get("resources", ()))
    if event.get("time"):
        size += 14
    return size


def check_event(event):
    """Refuse, on the publisher's side, what the broker would refuse."""
    if not isinstance(event, dict):
        raise MeshError("event: not a map")
    for key in ("version", "id", "source", "detail-type", "time"):
        if not isinstance(event.get(key), str):
            raise MeshError("event: %s: missing or not a string" % key)
    if not isinstance(event.get("detail"), dict):
        raise MeshError("event: detail: missing or not a map")
    for key in ("account", "region"):
        if key in event and not isinstance(event[key], str):
            raise MeshError("event: %s: not a string" % key)
    if "resources" in event:
        resources = event["resources"]
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            raise MeshError("event: resources: not an array of strings")
    if event["source"].startswith("aws."):
        raise MeshError("event: source: 'aws.*' is reserved: '%s'" % event["source"])
    if entry_size(event) > MAX_ENTRY_SIZE:
        raise MeshError("event: entry is %d bytes, over %d" % (entry_size(event), MAX_ENTRY_SIZE))


class Publisher:
    """An XPUB that connects to the broker's ingest and puts events on one bus.

    The constructor waits (up to timeout_ms) for the broker's subscription,
    b"\\x01", so that no first event is lost. NODROP makes a full queue
    block instead of dropping; LINGER flushes queued events at close."""

    def __init__(self, ctx, endpoint, bus, timeout_ms=5000, linger_ms=5000):
        if not BUS_NAME.match(bus):
            raise MeshError("bus name: 1 to 256 of A-Z a-z 0-9 . _ / -: '%s'" % bus)
        self.bus = bus
        self.socket = ctx.socket(zmq.XPUB)
        self.socket.setsockopt(zmq.XPUB_NODROP, 1)
        self.socket.setsockopt(zmq.LINGER, linger_ms)
        self.socket.setsockopt(zmq.SNDTIMEO, timeout_ms)
        self.socket.connect(endpoint)
        if not self.socket.poll(timeout_ms, zmq.POLLIN):
            self.close()
            raise Timeout("publisher: no broker on %s after %d ms" % (endpoint, timeout_ms))
        subscription = self.socket.recv()
        if subscription != b"\x01":
            self.close()
            raise MeshError("publisher: expected the broker's subscription b'\\x01', got %r"
                            % subscription)

    def put(self, source, detail_type, detail, **fields):
        """Build, check and send one event; returns the event sent."""
        event = make_event(source, detail_type, detail, **fields)
        check_event(event)
        self.send_event(event)
        return event

    def send_event(self, event):
        """Send an event dict as it is (no checks); returns the packed bytes."""
        data = pack(event)
        self.send_frames([self.bus.encode(), data])
        return data

    def send_frames(self, frames):
        """Send raw frames: for tests of what the broker refuses."""
        try:
            self.socket.send_multipart(frames)
        except zmq.Again:
            raise Timeout("publisher: send blocked past SNDTIMEO (back-pressure)")

    def close(self):
        self.socket.close()


def split_head(frame):
    """Frame 1 of a deliver-side message: (topic, header bytes). The topic
    ends at the FIRST NUL: a target name holds none, the header may."""
    name, nul, rest = frame.partition(b"\x00")
    if not nul:
        raise MeshError("frame 1: no NUL ending the topic (%d bytes)" % len(frame))
    if not TARGET_NAME.match(name.decode("ascii", "replace")):
        raise MeshError("frame 1: topic is not a target name: %r" % name)
    return name + nul, rest


def _unsigned(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


#  The header keys this version knows, and the type each must have.
HEADER_TYPES = {
    "v": (_unsigned, "an unsigned integer"),
    "seq": (_unsigned, "an unsigned integer"),
    "epoch": (_unsigned, "an unsigned integer"),
    "route": (_unsigned, "an unsigned integer"),
    "bus": (lambda v: isinstance(v, str), "a string"),
    "rule": (lambda v: isinstance(v, str), "a string"),
    "target": (lambda v: isinstance(v, str), "a string"),
    "ctl": (lambda v: isinstance(v, str), "a string"),
    "routed": (lambda v: isinstance(v, bool), "a boolean"),
}


class _Pairs(list):
    """A MessagePack map as read, its (key, value) pairs in order, so that
    a repeated key can be seen (a dict would keep the last)."""


def unpack_header(data):
    """The header: exactly one MessagePack map, nothing after it, its keys
    strings and none repeated, its "v" this version's ("refused, not
    read"), and the keys this version knows of their type. Returns it as a
    dict."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, object_pairs_hook=_Pairs)
    unpacker.feed(data)
    try:
        header = unpacker.unpack()
    except msgpack.OutOfData:
        raise MeshError("frame 1: header: truncated or missing (%d bytes)" % len(data))
    except (ValueError, msgpack.UnpackException) as e:          # bad bytes, not UTF-8
        raise MeshError("frame 1: header: not MessagePack: %s" % e)
    if unpacker.tell() != len(data):
        raise MeshError("frame 1: header: %d bytes after the map" % (len(data) - unpacker.tell()))
    if not isinstance(header, _Pairs):
        raise MeshError("frame 1: header is not a map: %r" % (header,))
    out = {}
    for key, value in header:
        if not isinstance(key, str):
            raise MeshError("frame 1: header: a key that is not a string: %r" % (key,))
        if key in out:
            raise MeshError("frame 1: header: repeated key '%s'" % key)
        out[key] = value
    if out.get("v") != PROTOCOL_VERSION:             # 3.0 passes here, not the type check
        raise MeshError("frame 1: header: protocol version %r, this side speaks %d"
                        % (out.get("v"), PROTOCOL_VERSION))
    for key, value in out.items():
        check, expected = HEADER_TYPES.get(key, (None, None))
        if check and not check(value):
            raise MeshError("frame 1: header: '%s': expected %s, got %r" % (key, expected, value))
    return out


#  The kinds of message this version reads: their frame count and the keys
#  each needs ("v" aside). A delivery has no "ctl".
KINDS = {
    "delivery": (2, ("route", "seq")),
    "hello": (1, ("routed", "target", "seq", "epoch")),
    "heartbeat": (1, ("target", "seq", "epoch")),
    "route": (1, ("target", "route", "bus", "rule")),
}


def parse_message(frames):
    """Check a whole deliver-side message against the document's reader
    rules: (kind, topic, header), kind one of KINDS or None for a ctl this
    version does not read ("request", "reply" and unknown ones: ignored,
    whatever their frame count). Raises MeshError for a malformed one."""
    topic, rest = split_head(frames[0])
    header = unpack_header(rest)
    if "ctl" not in header:
        kind = "delivery"
    elif header["ctl"] in ("hello", "heartbeat", "route"):
        kind = header["ctl"]
    else:
        return None, topic, header
    count, needed = KINDS[kind]
    if len(frames) != count:
        raise MeshError("message: a %s has %d frame%s, got %d"
                        % (kind, count, "" if count == 1 else "s", len(frames)))
    for key in needed:
        if key not in header:
            raise MeshError("frame 1: header: %s without '%s'" % (kind, key))
    if header.get("route", 0) >= ROUTE_MAX:
        raise MeshError("frame 1: header: 'route': expected below %d, got %d"
                        % (ROUTE_MAX, header["route"]))
    if kind == "delivery" and header["seq"] < 1:
        raise MeshError("frame 1: header: 'seq': expected 1 or more, got %d" % header["seq"])
    #  A delivery needs no target (its topic names it); one that says
    #  another target than its topic's is wrong all the same.
    if "target" in header and header["target"] != topic[:-1].decode():
        raise MeshError("message: header's target %r is not the topic's %r"
                        % (header["target"], topic))
    return kind, topic, header


class Message:
    """A deliver-side message: topic (the name and its NUL), header (a dict,
    exactly as it came), frames (as received)."""
    kind = None

    def __init__(self, topic, header, frames):
        self.topic = topic
        self.header = header
        self.frames = frames

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.header)


class Hello(Message):
    """[topic+header], header["ctl"] == "hello": the subscription is live,
    the target's last seq, the broker's epoch; route numbers start afresh."""
    kind = "hello"


class Heartbeat(Message):
    """[topic+header], header["ctl"] == "heartbeat": the broker is alive,
    the target's last seq and the broker's epoch."""
    kind = "heartbeat"


class Route(Message):
    """[topic+header], header["ctl"] == "route": what route number
    header["route"] means on this topic, (header["bus"], header["rule"])."""
    kind = "route"


class Delivery(Message):
    """A delivery [topic+header][event]; event_bytes is frame 2 as received.

    header is the wire's {"v", "route", "seq"}; the rest is resolved by the
    subscriber: route, bus and rule (from the route message that described
    route since the last hello), epoch (the last hello's or heartbeat's),
    seq, missed (the numbers missed since the previous delivery, shown by
    this one or by a hello or heartbeat before it) and restarted (a broker
    restart came since the previous delivery)."""
    kind = "delivery"

    def __init__(self, topic, header, frames, event, bus, rule, epoch, missed, restarted):
        super().__init__(topic, header, frames)
        self.event = event
        self.event_bytes = frames[1]
        self.route = header["route"]
        self.seq = header["seq"]
        self.bus = bus
        self.rule = rule
        self.epoch = epoch
        self.missed = missed
        self.restarted = restarted

    def __repr__(self):
        return "Delivery(%r, bus=%r, rule=%r, id=%r)" % (self.header, self.bus, self.rule,
                                                         self.event.get("id"))


class Subscriber:
    """A SUB on the broker's deliver endpoint for one target's topic.

    recv_any() returns each message read: a Hello, Heartbeat, Route or
    Delivery, or None for one ignored (a ctl this version does not read, or
    anything before the first hello); recv() returns only hellos and
    deliveries. A malformed message raises MeshError and changes nothing
    (one before the first hello too: a header is read whole, by the
    document's rules, before it can tell whether it is a hello).

    It keeps what the document's "What a subscriber counts" describes, from
    its first hello on: epoch, last_seq (the last number it knows was given
    out), missed, restarts; routes, this topic's table of route numbers to
    (bus, rule), None before the first hello and emptied at every hello;
    and ignored, the messages that came before the first hello."""

    def __init__(self, ctx, endpoint, target, topic=None):
        if topic is None:
            if not TARGET_NAME.match(target):
                raise MeshError("target name: 1 to 64 of A-Z a-z 0-9 . _ -: '%s'" % target)
            topic = target.encode() + b"\x00"
        self.target = target
        self.topic = topic
        self.socket = ctx.socket(zmq.SUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.SUBSCRIBE, topic)
        self.socket.connect(endpoint)
        self.routes = None
        self.epoch = None
        self.last_seq = None
        self.missed = 0
        self.restarts = 0
        self.ignored = 0
        self._gap = 0                   # missed since the last delivery
        self._restarted = False         # a restart since the last delivery

    def recv_frames(self, timeout_ms):
        if not self.socket.poll(timeout_ms, zmq.POLLIN):
            raise Timeout("subscriber %s: nothing in %d ms" % (self.target, timeout_ms))
        return self.socket.recv_multipart()

    def recv_any(self, timeout_ms=2000):
        """The next message: Hello, Heartbeat, Route, Delivery, or None for
        one ignored. Raises MeshError for a malformed one, Timeout."""
        frames = self.recv_frames(timeout_ms)
        try:
            kind, topic, header = parse_message(frames)
        except MeshError as e:
            raise MeshError("subscriber %s: %s" % (self.target, e)) from None
        if kind == "hello":
            self.routes = {}                             # numbers start afresh
            self._count(header["epoch"], header["seq"], delivery=False)
            return Hello(topic, header, frames)
        if self.routes is None:                          # before our first hello: not ours
            self.ignored += 1
            return None
        if kind is None:
            return None                                  # request, reply, unknown ctl
        if kind == "heartbeat":
            self._count(header["epoch"], header["seq"], delivery=False)
            return Heartbeat(topic, header, frames)
        if kind == "route":
            self.routes[header["route"]] = (header["bus"], header["rule"])
            return Route(topic, header, frames)
        if header["route"] not in self.routes:
            #  Malformed; its seq is not counted, so it shows as missed
            raise MeshError("subscriber %s: delivery %d names route %d, which no route "
                            "message described since the hello"
                            % (self.target, header["seq"], header["route"]))
        try:
            event = unpack(frames[1])
        except (ValueError, msgpack.UnpackException) as e:
            raise MeshError("subscriber %s: delivery %d: event: not MessagePack: %s"
                            % (self.target, header["seq"], e)) from None
        bus, rule = self.routes[header["route"]]
        self._count(self.epoch, header["seq"], delivery=True)
        delivery = Delivery(topic, header, frames, event, bus, rule, self.epoch,
                            self._gap, self._restarted)
        self._gap, self._restarted = 0, False
        return delivery

    def recv(self, timeout_ms=2000):
        """The next hello or delivery, skipping the other messages."""
        while True:
            msg = self.recv_any(timeout_ms)
            if msg is not None and msg.kind in ("hello", "delivery"):
                return msg

    def wait_hello(self, timeout_ms=2000):
        """Wait for the hello that says the subscription is live (what came
        before the first one was ignored)."""
        msg = self.recv(timeout_ms)
        if msg.kind != "hello":
            raise MeshError("subscriber: expected a hello first, got %r" % (msg,))
        return msg

    def deliveries(self, count, timeout_ms=2000):
        """The next count deliveries (hellos in between are skipped)."""
        out = []
        while len(out) < count:
            msg = self.recv(timeout_ms)
            if msg.kind == "delivery":
                out.append(msg)
        return out

    #  What a subscriber counts. The first hello is the baseline: nothing
    #  given out before it counts. Then, in the same epoch, a delivery above
    #  the baseline plus one, or a hello or heartbeat above the baseline,
    #  counts the numbers in between as missed, and the baseline becomes the
    #  higher of the two. Another epoch is a restart: the baseline becomes 0
    #  in the new epoch before the message is counted.
    def _count(self, epoch, seq, delivery):
        if self.epoch is None:
            self.epoch, self.last_seq = epoch, seq
            return
        if epoch != self.epoch:
            self.restarts += 1
            self._restarted = True
            self.epoch, self.last_seq = epoch, 0
            self.routes = {}            # the old run's route numbers mean nothing now
        gap = seq - self.last_seq - (1 if delivery else 0)
        if gap > 0:
            self.missed += gap
            self._gap += gap
        self.last_seq = max(self.last_seq, seq)

    def close(self):
        self.socket.close()
