"""meshwire: a mesh client written from docs/protocol.md alone.

This module is the proof that docs/protocol.md is enough to talk to a mesh
broker from another language: it was written from the document, not from
libmesh. It knows the two sockets, the event envelope, the [bus][event]
ingest message, the [topic+header][event] delivery and the one-frame
[topic+header] hello and heartbeat (protocol version 2: frame 1 is the topic
immediately followed by the header), and nothing else.

    ctx = zmq.Context()
    pub = Publisher(ctx, "tcp://127.0.0.1:5600", "eda_bus")     # waits for b"\\x01"
    sub = Subscriber(ctx, "tcp://127.0.0.1:5601", "rewards")
    hello = sub.wait_hello(timeout_ms=2000)                     # subscription is live
    pub.put("demo.payments", "Payment Processed", {"total_cost": 242.58})
    msg = sub.recv(timeout_ms=2000)                             # a Delivery
    print(msg.header["rule"], msg.header["seq"], msg.event["detail"])

Every receive takes a timeout and raises Timeout when it passes, so a
caller never blocks forever. Needs pyzmq and msgpack (Debian: python3-zmq,
python3-msgpack).
"""

import datetime
import re
import uuid

import msgpack
import zmq

PROTOCOL_VERSION = 2

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


def unpack_header(data):
    """The header: exactly one MessagePack map, nothing after it."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=True)
    unpacker.feed(data)
    try:
        header = unpacker.unpack()
    except msgpack.OutOfData:
        raise MeshError("frame 1: header: truncated or missing (%d bytes)" % len(data))
    if unpacker.tell() != len(data):
        raise MeshError("frame 1: header: %d bytes after the map" % (len(data) - unpacker.tell()))
    if not isinstance(header, dict):
        raise MeshError("frame 1: header is not a map: %r" % (header,))
    return header


class Hello:
    """A control message [topic+header] with header["ctl"] == "hello"."""
    kind = "hello"

    def __init__(self, topic, header, frames):
        self.topic = topic
        self.header = header
        self.frames = frames

    def __repr__(self):
        return "Hello(%r)" % (self.header,)


class Delivery:
    """A delivery [topic+header][event]; event_bytes is frame 2 as received."""
    kind = "delivery"

    def __init__(self, topic, header, event, frames):
        self.topic = topic
        self.header = header
        self.event = event
        self.event_bytes = frames[1]
        self.frames = frames

    def __repr__(self):
        return "Delivery(%r, id=%r)" % (self.header, self.event.get("id"))


class Subscriber:
    """A SUB on the broker's deliver endpoint for one target's topic.

    recv() returns Hello or Delivery objects; messages with an unknown ctl
    are skipped, as the document asks. It also keeps the gap detection the
    document describes: baseline from the hello's seq, then every delivery
    must be the next seq of the same epoch; missed counts what was skipped."""

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
        self.epoch = None
        self.last_seq = None
        self.missed = 0

    def recv_frames(self, timeout_ms):
        if not self.socket.poll(timeout_ms, zmq.POLLIN):
            raise Timeout("subscriber %s: nothing in %d ms" % (self.target, timeout_ms))
        return self.socket.recv_multipart()

    def recv_any(self, timeout_ms=2000):
        """The next message as it is, hello, delivery or other control."""
        frames = self.recv_frames(timeout_ms)
        topic, rest = split_head(frames[0])
        header = unpack_header(rest)
        if header.get("v") != PROTOCOL_VERSION:
            raise MeshError("subscriber: protocol version %r, expected %d"
                            % (header.get("v"), PROTOCOL_VERSION))
        if header.get("ctl") in ("hello", "heartbeat") or "ctl" not in header:
            if header.get("target") != topic[:-1].decode():
                raise MeshError("subscriber: header's target %r is not the topic's %r"
                                % (header.get("target"), topic))
        if "ctl" in header:
            if header["ctl"] in ("hello", "heartbeat") and len(frames) != 1:
                raise MeshError("subscriber: %s of %d frames, expected 1"
                                % (header["ctl"], len(frames)))
            if header["ctl"] == "hello":
                self._baseline(header)
                return Hello(topic, header, frames)
            return None                                  # heartbeat, unknown ctl: skip
        if len(frames) != 2:
            raise MeshError("subscriber: delivery of %d frames, expected 2" % len(frames))
        delivery = Delivery(topic, header, unpack(frames[1]), frames)
        self._track(header)
        return delivery

    def recv(self, timeout_ms=2000):
        """The next hello or delivery, skipping unknown control messages."""
        while True:
            msg = self.recv_any(timeout_ms)
            if msg is not None:
                return msg

    def wait_hello(self, timeout_ms=2000):
        """Wait for the hello that says the subscription is live."""
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

    #  Gap detection. The hello travels in order with the target's
    #  deliveries, so its seq is the last one given out before it: a first
    #  baseline, and for a subscriber already counting, anything between its
    #  last seq and the hello's was missed. A new epoch (the broker restarted)
    #  counts from 0 again; deliveries that come before the first hello (they
    #  were queued for the target before we subscribed) set the baseline.
    def _baseline(self, header):
        seq = header.get("seq")
        if header.get("epoch") != self.epoch:
            self.epoch = header.get("epoch")
            self.last_seq = seq
        elif seq > self.last_seq:
            self.missed += seq - self.last_seq
            self.last_seq = seq

    def _track(self, header):
        seq = header["seq"]
        if header.get("epoch") != self.epoch:
            restarted = self.epoch is not None
            self.epoch = header.get("epoch")
            self.last_seq = 0 if restarted else seq - 1
        if seq > self.last_seq + 1:
            self.missed += seq - self.last_seq - 1
        self.last_seq = max(self.last_seq, seq)

    def close(self):
        self.socket.close()
