"""test_protocol: docs/protocol.md checked against the real broker, in Python.

The client (meshwire.py) was written from the document alone; these tests
run bin/mesh-broker on ephemeral loopback ports, publish and subscribe with
it, and check what the document promises (protocol version 3): the
example's routing, the header fields, the hello, the route messages that
say what a delivery's route number means, per-target sequence numbers,
topic framing, and that bad input is refused, counted and loses nothing
else. A stand-in broker (a bare XPUB) checks that meshwire refuses what the
reader rules forbid and ignores what comes before the first hello.

Run: python3 tests/python/test_protocol.py [-v] [Class.test_name ...]
(from anywhere; `make` first). It prints cmocka's summary lines, which
tests/run.sh adds to `make test`'s count. Every receive has a timeout and
every broker is stopped (killed if need be) when its test ends.
"""

import os
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import msgpack  # noqa: E402
import zmq  # noqa: E402

import cmocka  # noqa: E402
import meshwire  # noqa: E402
from meshwire import Publisher, Subscriber, Timeout, make_event, pack, unpack  # noqa: E402
from brokerkit import Broker, binary, free_port  # noqa: E402

#  How long a receive may wait for something that must come, and how long
#  the tests listen for something that must not.
WAIT_MS = 3000
QUIET_MS = 300

SOURCE = "demo.payments"
DETAIL_TYPE = "Payment Processed"


def payment(total, **detail):
    detail = dict({"total_cost": total, "customer_id": "3213", "order_id": "ord-py"}, **detail)
    return make_event(SOURCE, DETAIL_TYPE, detail)


def rule(name, targets, pattern=None, state="ENABLED"):
    return {"name": name, "state": state,
            "event_pattern": pattern or {"source": [SOURCE], "detail-type": [DETAIL_TYPE]},
            "targets": [{"name": t} for t in targets]}


def raw_map(pairs):
    """A MessagePack map written by hand from (packed key, packed value)
    pairs, so that a test can repeat a key or use a non-string key."""
    n = len(pairs)
    head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
    return head + b"".join(k + v for k, v in pairs)


def raw_event(**override):
    """A valid event's (key, value) pairs, packed, with overrides (packed
    bytes) replacing or adding values."""
    event = payment(250)
    pairs = [(pack(k), pack(v)) for k, v in event.items()]
    for key, value in override.items():
        key = key.replace("_", "-")
        pairs = [(k, value if k == pack(key) else v) for k, v in pairs]
        if pack(key) not in [k for k, _ in pairs]:
            pairs.append((pack(key), value))
    return pairs


def next_message(sub, timeout_ms=WAIT_MS):
    """The next hello, route or delivery on sub, skipping heartbeats and
    what meshwire ignores."""
    while True:
        msg = sub.recv_any(timeout_ms)
        if msg is not None and msg.kind != "heartbeat":
            return msg


class BrokerTest(unittest.TestCase):
    """A fresh broker per test (fresh epoch, seq from 1), a zmq context, and
    the subscribers and publishers of the test, all closed at the end."""

    config = None
    rules = None
    args = ()
    grace_ms = 300

    def setUp(self):
        self.ctx = zmq.Context()
        self.sockets = []
        self.started_ms = int(time.time() * 1000)
        self.broker = Broker(config=self.config, rules=self.rules, args=self.args,
                             grace_ms=self.grace_ms)
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for s in self.sockets:
            s.close()
        self.ctx.term()
        self.broker.stop()
        self.broker.remove()

    def subscribe(self, target, topic=None, hello=True):
        sub = Subscriber(self.ctx, self.broker.deliver, target, topic=topic)
        self.sockets.append(sub)
        if hello:
            sub.hello = sub.wait_hello(WAIT_MS)
        return sub

    def publisher(self, bus="eda_bus"):
        pub = Publisher(self.ctx, self.broker.wait_ingest(), bus, timeout_ms=WAIT_MS)
        self.sockets.append(pub)
        return pub

    def assertQuiet(self, sub, ms=QUIET_MS):
        """Nothing but hellos arrives on sub for ms."""
        deadline = time.monotonic() + ms / 1000
        while True:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0:
                return
            try:
                msg = sub.recv(left)
            except Timeout:
                return
            self.assertEqual(msg.kind, "hello", "unexpected on %s: %r" % (sub.target, msg))

    def stop(self):
        self.assertEqual(self.broker.stop(), 0, self.broker.log())
        self.assertIsNotNone(self.broker.stats, "no final stats line: " + self.broker.log())
        return self.broker.stats, self.broker.target_stats


class HelloTest(BrokerTest):
    """The publisher's handshake and the subscriber's hello."""

    def test_publisher_gets_the_brokers_subscription(self):
        sock = self.ctx.socket(zmq.XPUB)
        self.sockets.append(sock)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.broker.wait_ingest())
        self.assertTrue(sock.poll(WAIT_MS, zmq.POLLIN), "no subscription from the broker")
        self.assertEqual(sock.recv(), b"\x01")

    def test_hello_of_a_routed_target(self):
        sub = self.subscribe("rewards")
        frames = sub.hello.frames
        self.assertEqual(len(frames), 1)                # topic and header, one frame
        self.assertTrue(frames[0].startswith(b"rewards\x00"))
        self.assertEqual(sub.hello.topic, b"rewards\x00")
        self.assertEqual(unpack(frames[0][len(b"rewards\x00"):]), sub.hello.header)
        header = sub.hello.header
        self.assertEqual(header["v"], 3)
        self.assertEqual(header["ctl"], "hello")
        self.assertIs(header["routed"], True)
        self.assertEqual(header["target"], "rewards")
        self.assertEqual(header["seq"], 0)
        #  epoch: the broker's start time in milliseconds
        self.assertIsInstance(header["epoch"], int)
        self.assertGreaterEqual(header["epoch"], self.started_ms - 1000)
        self.assertLessEqual(header["epoch"], int(time.time() * 1000))

    def test_hello_of_a_target_no_rule_names(self):
        sub = self.subscribe("rewards-v2")
        self.assertIs(sub.hello.header["routed"], False)
        self.assertEqual(sub.hello.header["target"], "rewards-v2")
        self.assertEqual(sub.hello.header["seq"], 0)

    def test_every_subscription_gets_a_hello_with_the_same_epoch(self):
        first = self.subscribe("warehouse")
        second = self.subscribe("warehouse")
        other = self.subscribe("shipping")
        self.assertEqual(first.hello.header["epoch"], second.hello.header["epoch"])
        self.assertEqual(first.hello.header["epoch"], other.hello.header["epoch"])
        #  The hello goes to the topic: the first subscriber sees the second's
        #  too, and ignores it (a hello is not a delivery).
        again = first.recv(WAIT_MS)
        self.assertEqual(again.kind, "hello")
        self.assertEqual(again.header["seq"], 0)


class StatsIntervalTest(BrokerTest):
    """--stats-interval puts the counters in the log while the broker runs."""

    args = ("--stats-interval", "1")

    def test_counters_are_logged_every_interval(self):
        warehouse = self.subscribe("warehouse")
        pub = self.publisher()
        pub.send_frames([b"nobus", pack(payment(1))])
        pub.send_event(payment(1))
        warehouse.deliveries(1, WAIT_MS)
        deadline = time.monotonic() + 3
        stats = targets = None
        while time.monotonic() < deadline:
            stats, targets = self.broker.last_stats()
            if stats and stats["received"] == 2:
                break
            time.sleep(0.1)
        self.assertEqual((stats["received"], stats["unknown_bus"], stats["routed"]), (2, 1, 1),
                         self.broker.log())
        self.assertEqual(targets["warehouse"]["delivered"], 1)
        self.assertEqual(targets["warehouse"]["subscribed"], 1)


class DisabledRuleTest(BrokerTest):
    """A target that only a DISABLED rule names is not routed."""

    rules = {"b.json": {"bus": "b", "rules": [
        rule("off", ["audit"], state="DISABLED"), rule("on", ["billing"])]}}

    def test_disabled_rules_route_nothing(self):
        audit, billing = self.subscribe("audit"), self.subscribe("billing")
        self.assertIs(audit.hello.header["routed"], False)
        self.assertIs(billing.hello.header["routed"], True)
        self.publisher("b").send_event(payment(1))
        (d,) = billing.deliveries(1, WAIT_MS)
        self.assertEqual((d.bus, d.rule), ("b", "on"))
        self.assertQuiet(audit)


class RoutingTest(BrokerTest):
    """The README's example, config/eda_bus.json, over the wire."""

    def setUp(self):
        super().setUp()
        self.rewards = self.subscribe("rewards")
        self.warehouse = self.subscribe("warehouse")
        self.shipping = self.subscribe("shipping")
        self.pub = self.publisher()

    def test_big_payment_to_all_three_small_one_not_to_rewards(self):
        big, small = payment(242.58), payment(99.50)
        big_bytes = self.pub.send_event(big)
        small_bytes = self.pub.send_event(small)
        epoch = self.rewards.hello.header["epoch"]

        (r,) = self.rewards.deliveries(1, WAIT_MS)
        self.assertEqual(len(r.frames), 2)
        self.assertEqual(r.topic, b"rewards\x00")
        #  Exactly v, route and seq: the topic names the target, the route
        #  message the bus and rule, the hello the epoch. rewards has one
        #  route, and a target's numbers start at 0.
        self.assertEqual(r.header, {"v": 3, "route": 0, "seq": 1})
        #  "A delivery's header is now 24 to 28 bytes after its topic"
        self.assertTrue(24 <= len(r.frames[0]) - len(b"rewards\x00") <= 28, r.frames[0])
        self.assertEqual((r.bus, r.rule, r.seq), ("eda_bus", "payment-processed", 1))
        self.assertEqual(r.epoch, epoch)
        #  "the event exactly as the publisher sent it"
        self.assertEqual(r.event_bytes, big_bytes)
        self.assertEqual(r.event, big)

        for sub, rule_name in ((self.warehouse, "payment-to-warehouse"),
                               (self.shipping, "payment-to-shipping")):
            got = sub.deliveries(2, WAIT_MS)
            self.assertEqual([d.event_bytes for d in got], [big_bytes, small_bytes])
            self.assertEqual([d.header["seq"] for d in got], [1, 2])
            for d in got:
                self.assertEqual(d.topic, sub.target.encode() + b"\x00")
                self.assertEqual(sorted(d.header), ["route", "seq", "v"])
                self.assertEqual((d.bus, d.rule), ("eda_bus", rule_name))
                self.assertEqual(d.epoch, epoch)
        for sub in (self.rewards, self.warehouse, self.shipping):
            self.assertQuiet(sub)

        stats, targets = self.stop()
        self.assertEqual(stats["received"], 2)
        self.assertEqual(stats["unmatched"], 0)
        self.assertEqual(targets["rewards"]["seq"], 1)
        self.assertEqual(targets["rewards"]["delivered"], 1)
        self.assertEqual(targets["warehouse"]["delivered"], 2)
        self.assertEqual(targets["shipping"]["delivered"], 2)
        for t in targets.values():
            self.assertEqual(t["seq"], t["delivered"] + t["no_subscriber"] + t["overflow"] + t["queued"])

    def test_numbers_compare_by_value_whatever_their_encoding(self):
        cases = [(200, False), (200.0, False), (200.01, True), (201, True),
                 (2**40, True), (-5, False)]
        for total, _ in cases:
            self.pub.send_event(payment(total))
        #  float32 is accepted: 250.0 as 0xca
        f32 = raw_event(detail=raw_map([(pack("total_cost"), b"\xca" + struct.pack(">f", 250.0))]))
        self.pub.send_frames([b"eda_bus", raw_map(f32)])
        expected = [t for t, rewarded in cases if rewarded] + [250.0]
        got = self.rewards.deliveries(len(expected), WAIT_MS)
        self.assertEqual([d.event["detail"]["total_cost"] for d in got], expected)
        self.assertEqual(len(self.warehouse.deliveries(len(cases) + 1, WAIT_MS)), len(cases) + 1)
        self.assertQuiet(self.rewards)

    def test_other_sources_and_types_are_unmatched(self):
        self.pub.send_event(make_event("demo.orders", DETAIL_TYPE, {"total_cost": 500}))
        self.pub.send_event(make_event(SOURCE, "Payment Refunded", {"total_cost": 500}))
        self.pub.send_event(payment(300))
        (d,) = self.warehouse.deliveries(1, WAIT_MS)
        self.assertEqual(d.event["detail"]["total_cost"], 300)
        self.assertEqual(d.header["seq"], 1)
        stats, _ = self.stop()
        self.assertEqual(stats["received"], 3)
        self.assertEqual(stats["unmatched"], 2)

    def test_a_key_repeated_in_detail_is_read_last_one_wins(self):
        for n, (first, last) in enumerate([(100, 300), (300, 100)]):
            detail = raw_map([(pack("n"), pack(n)), (pack("total_cost"), pack(first)),
                              (pack("total_cost"), pack(last))])
            self.pub.send_frames([b"eda_bus", raw_map(raw_event(detail=detail))])
        self.pub.send_event(payment(250, n=2))
        got = self.rewards.deliveries(2, WAIT_MS)
        self.assertEqual([d.event["detail"]["n"] for d in got], [0, 2])

    def test_extra_top_level_keys_pass_through(self):
        event = payment(250)
        event["replay-name"] = "py"
        sent = self.pub.send_event(event)
        (d,) = self.rewards.deliveries(1, WAIT_MS)
        self.assertEqual(d.event_bytes, sent)
        self.assertEqual(d.event["replay-name"], "py")


class RouteMessageTest(BrokerTest):
    """The route messages, from the real broker: what a delivery's route
    number means is said on the topic before the first delivery that uses
    it after each hello, and said again after the next hello."""

    def test_a_route_message_precedes_the_first_delivery_of_each_rule(self):
        expected = {"rewards": "payment-processed", "warehouse": "payment-to-warehouse",
                    "shipping": "payment-to-shipping"}
        subs = {t: self.subscribe(t) for t in expected}
        pub = self.publisher()
        first, second = pub.send_event(payment(300)), pub.send_event(payment(400))
        for target, rule_name in expected.items():
            with self.subTest(target):
                sub = subs[target]
                route = next_message(sub)
                self.assertEqual(route.kind, "route", route)
                self.assertEqual(len(route.frames), 1)
                self.assertEqual(route.topic, target.encode() + b"\x00")
                #  One route per target in the example: number 0
                self.assertEqual(route.header, {"v": 3, "ctl": "route", "target": target,
                                                "route": 0, "bus": "eda_bus", "rule": rule_name})
                self.assertEqual(sub.routes, {0: ("eda_bus", rule_name)})
                #  Said once: the second delivery of the route follows the
                #  first directly
                got = [next_message(sub), next_message(sub)]
                self.assertEqual([m.kind for m in got], ["delivery", "delivery"])
                self.assertEqual([d.event_bytes for d in got], [first, second])
                self.assertEqual([(d.route, d.bus, d.rule, d.seq) for d in got],
                                 [(0, "eda_bus", rule_name, 1), (0, "eda_bus", rule_name, 2)])
                self.assertQuiet(sub)

    def test_a_second_subscriber_gets_a_hello_and_the_route_again(self):
        first = self.subscribe("warehouse")
        pub = self.publisher()
        pub.send_event(payment(1, n=1))
        self.assertEqual([m.kind for m in (next_message(first), next_message(first))],
                         ["route", "delivery"])
        second = self.subscribe("warehouse")
        self.assertEqual(second.hello.header["seq"], 1)
        #  The hello went to the topic: the first subscriber sees it too,
        #  and its table starts afresh
        hello = next_message(first)
        self.assertEqual((hello.kind, hello.header["seq"]), ("hello", 1))
        self.assertEqual(first.routes, {})
        pub.send_event(payment(1, n=2))
        for name, sub in (("first", first), ("second", second)):
            with self.subTest(name):
                route = next_message(sub)
                self.assertEqual(route.kind, "route", route)
                self.assertEqual((route.header["route"], route.header["bus"], route.header["rule"]),
                                 (0, "eda_bus", "payment-to-warehouse"))
                d = next_message(sub)
                self.assertEqual(d.kind, "delivery", d)
                self.assertEqual((d.seq, d.route, d.bus, d.rule, d.event["detail"]["n"]),
                                 (2, 0, "eda_bus", "payment-to-warehouse", 2))
                self.assertEqual(sub.missed, 0)
        self.assertQuiet(first)
        self.assertQuiet(second)


class RouteNumberTest(BrokerTest):
    """A target that several (bus, rule) pairs route to: one number for
    each, from 0, each said once after the hello, before its first use."""

    rules = {
        "a.json": {"bus": "bus-a", "rules": [
            rule("a-one", ["audit"]),
            rule("a-two", ["audit"], {"detail": {"total_cost": [{"numeric": [">", 200]}]}}),
        ]},
        "b.json": {"bus": "bus/b", "rules": [rule("b-one", ["audit"])]},
    }

    def test_a_target_of_several_routes_numbers_each(self):
        audit = self.subscribe("audit")
        pub_a, pub_b = self.publisher("bus-a"), self.publisher("bus/b")
        pub_a.send_event(payment(300))       # a-one and a-two
        msgs = [next_message(audit) for _ in range(4)]
        pub_b.send_event(payment(100))       # b-one
        msgs += [next_message(audit) for _ in range(2)]
        pub_a.send_event(payment(100))       # a-one again: no route message
        msgs += [next_message(audit)]
        kinds = [m.kind for m in msgs]
        self.assertEqual(kinds.count("route"), 3, kinds)
        described = {}
        for m in msgs:
            if m.kind == "route":
                self.assertNotIn(m.header["route"], described, "said twice since the hello")
                described[m.header["route"]] = (m.header["bus"], m.header["rule"])
            else:
                #  The delivery's route was said before it
                self.assertEqual(described.get(m.route), (m.bus, m.rule))
        #  A target's numbers start at 0, one per (bus, rule)
        self.assertEqual(sorted(described), [0, 1, 2])
        self.assertEqual(sorted(described.values()),
                         [("bus-a", "a-one"), ("bus-a", "a-two"), ("bus/b", "b-one")])
        self.assertEqual(kinds[-2:], ["delivery", "delivery"])
        self.assertEqual([m.seq for m in msgs if m.kind == "delivery"], [1, 2, 3, 4])
        self.assertEqual(msgs[-1].rule, "a-one")
        #  After the next hello (another subscriber's), a-one is said again,
        #  with the same number: it means the same while the broker runs
        self.subscribe("audit")
        self.assertEqual(next_message(audit).kind, "hello")
        pub_a.send_event(payment(100))
        route, d = next_message(audit), next_message(audit)
        self.assertEqual(route.kind, "route", route)
        self.assertEqual((route.header["route"], route.header["rule"]), (msgs[-1].route, "a-one"))
        self.assertEqual((d.kind, d.route, d.rule, d.seq), ("delivery", msgs[-1].route, "a-one", 5))
        self.assertEqual(audit.missed, 0)


class BacklogHelloTest(BrokerTest):
    """A subscriber that joins while its target has a backlog receives the
    queued deliveries before its hello, naming a route it was never told
    of: it ignores them (not its to read or to miss), and reads from its
    hello on."""

    args = ("--heartbeat", "0", "--sndhwm", "10", "--backlog-bytes", "200000000",
            "--stats-interval", "1")

    def test_what_comes_before_the_hello_is_ignored(self):
        n = 600
        stalled = Subscriber(self.ctx, self.broker.deliver, "warehouse")
        stalled.socket.setsockopt(zmq.RCVHWM, 1)
        self.sockets.append(stalled)
        stalled.wait_hello(WAIT_MS)
        pub = self.publisher()
        for i in range(n):                   # 30 MB, more than the sockets hold
            pub.send_event(payment(1, n=i, pad="q" * 50000))
        #  Wait until the broker has read them all and holds a backlog
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stats, targets = self.broker.last_stats()
            if stats and stats["received"] == n and targets["warehouse"]["queued"] > 0:
                break
            time.sleep(0.1)
        self.assertIsNotNone(stats, "no stats line: " + self.broker.log())
        self.assertEqual(stats["received"], n, self.broker.log())
        self.assertGreater(targets["warehouse"]["queued"], 0, "no backlog: " + self.broker.log())
        late = Subscriber(self.ctx, self.broker.deliver, "warehouse")
        self.sockets.append(late)
        #  Read both as things come: the backlog reaches the late one too
        poller = zmq.Poller()
        poller.register(stalled.socket, zmq.POLLIN)
        poller.register(late.socket, zmq.POLLIN)
        stalled_seqs, late_msgs, sent_last = [], [], False
        while len(stalled_seqs) < n + 1 or not any(m.kind == "delivery" for m in late_msgs):
            ready = dict(poller.poll(WAIT_MS))
            self.assertTrue(ready, "nothing for %d ms: %d of %d, late %r"
                            % (WAIT_MS, len(stalled_seqs), n + 1, late_msgs))
            if stalled.socket in ready:
                msg = stalled.recv_any(0)
                if msg is not None and msg.kind == "delivery":
                    stalled_seqs.append(msg.seq)
            if late.socket in ready:
                msg = late.recv_any(0)
                if msg is not None:
                    late_msgs.append(msg)
                if msg is not None and msg.kind == "hello" and not sent_last:
                    pub.send_event(payment(1, n=n))      # after the hello: the late one's
                    sent_last = True
        self.assertEqual(stalled_seqs, list(range(1, n + 2)))
        #  The late subscriber ignored the backlog that came before its
        #  hello, counted nothing for it, and read the rest
        self.assertGreater(late.ignored, 0)
        self.assertEqual([m.kind for m in late_msgs], ["hello", "route", "delivery"])
        hello, route, d = late_msgs
        self.assertEqual(hello.header["seq"], n)
        self.assertEqual((route.header["route"], route.header["rule"]), (0, "payment-to-warehouse"))
        self.assertEqual((d.seq, d.rule, d.event["detail"]["n"]), (n + 1, "payment-to-warehouse", n))
        self.assertEqual((late.missed, stalled.missed), (0, 0))


class TopicTest(BrokerTest):
    """A target's topic is its name and a NUL: no name is a prefix of another's."""

    rules = {"eda_bus.json": {"bus": "eda_bus", "rules": [
        rule("to-rewards", ["rewards"],
             {"source": [SOURCE], "detail": {"kind": ["old"]}}),
        rule("to-rewards-v2", ["rewards-v2"],
             {"source": [SOURCE], "detail": {"kind": ["new"]}}),
        rule("to-rewards.v2", ["rewards.v2"],
             {"source": [SOURCE], "detail": {"kind": ["dot"]}}),
    ]}}

    def test_rewards_never_gets_rewards_v2s_traffic(self):
        subs = {t: self.subscribe(t) for t in ("rewards", "rewards-v2", "rewards.v2")}
        pub = self.publisher()
        for kind in ("new", "old", "dot", "new", "old"):
            pub.send_event(payment(10, kind=kind))
        for target, kind, count in (("rewards", "old", 2), ("rewards-v2", "new", 2),
                                    ("rewards.v2", "dot", 1)):
            got = subs[target].deliveries(count, WAIT_MS)
            self.assertEqual([d.event["detail"]["kind"] for d in got], [kind] * count)
            self.assertEqual([d.header["seq"] for d in got], list(range(1, count + 1)))
            self.assertTrue(all(d.topic == target.encode() + b"\x00" for d in got))
        for sub in subs.values():
            self.assertQuiet(sub)

    def test_subscriptions_that_are_not_topics_are_ignored(self):
        #  No NUL, everything, a bad name, a name too long: the broker
        #  ignores them (no hello, no demand) and counts them.
        bad = [b"rewards", b"", b"bad name!\x00", b"x" * 65 + b"\x00", b"\x00"]
        subs = [self.subscribe("bad", topic=t, hello=False) for t in bad]
        for sub in subs:
            with self.assertRaises(Timeout):
                sub.recv_any(QUIET_MS)
        #  The broker applies only exact target topics (ZMQ_XPUB_MANUAL):
        #  b"rewards" and b"" receive nothing, not even what is sent on
        #  b"rewards\x00" (here, its hello), so a socket subscribed to
        #  everything cannot hold back a target by not reading.
        good = self.subscribe("rewards")
        self.assertIs(good.hello.header["routed"], True)
        for sub in subs:
            with self.assertRaises(Timeout):
                sub.recv_any(QUIET_MS)
        stats, targets = self.stop()
        self.assertEqual(stats["ignored_subscriptions"], len(bad))
        self.assertEqual(targets["rewards"]["subscribed"], 1)

    def test_a_topic_with_a_nul_inside_is_not_the_targets(self):
        #  b"rewards\x00\x00" is not rewards' topic: once, the broker checked
        #  the name as a C string, up to its first NUL, took it for rewards,
        #  and when it left marked rewards unsubscribed while its real
        #  subscriber was still there.
        good = self.subscribe("rewards")
        rogue = self.subscribe("rogue", topic=b"rewards\x00\x00", hello=False)
        with self.assertRaises(Timeout):
            rogue.recv_any(QUIET_MS)
        rogue.close()
        self.sockets.remove(rogue)
        time.sleep(QUIET_MS / 1000)
        pub = self.publisher()
        pub.send_event(payment(10, kind="old"))
        (d,) = good.deliveries(1, WAIT_MS)
        self.assertEqual(d.header["seq"], 1)
        stats, targets = self.stop()
        self.assertEqual(stats["ignored_subscriptions"], 1)
        self.assertEqual(targets["rewards"]["no_subscriber"], 0)


class SequenceTest(BrokerTest):
    """seq counts from 1 per target, over all its rules and buses."""

    rules = {
        "a.json": {"bus": "bus-a", "rules": [
            rule("a-one", ["audit", "warehouse"]),
            rule("a-two", ["audit"], {"detail": {"total_cost": [{"numeric": [">", 200]}]}}),
        ]},
        "b.json": {"bus": "bus/b", "rules": [rule("b-one", ["audit"])]},
    }

    def test_seq_runs_over_rules_and_buses(self):
        audit = self.subscribe("audit")
        warehouse = self.subscribe("warehouse")
        pub_a = self.publisher("bus-a")
        pub_b = self.publisher("bus/b")
        pub_a.send_event(payment(300))           # audit twice (a-one, a-two), warehouse once
        got = audit.deliveries(2, WAIT_MS)
        pub_b.send_event(payment(100))           # audit once (b-one)
        #  Two publishers' sockets are two pipes: the broker reads them in
        #  no promised order, so b's event is received before a's is sent
        got += audit.deliveries(1, WAIT_MS)
        pub_a.send_event(payment(100))           # audit once (a-one), warehouse once
        got += audit.deliveries(1, WAIT_MS)
        self.assertEqual([d.header["seq"] for d in got], [1, 2, 3, 4])
        self.assertEqual(sorted((d.bus, d.rule) for d in got[:2]),
                         [("bus-a", "a-one"), ("bus-a", "a-two")])
        self.assertEqual([(d.bus, d.rule) for d in got[2:]],
                         [("bus/b", "b-one"), ("bus-a", "a-one")])
        #  One number per (bus, rule) of the target, the same each time
        self.assertEqual(len({d.route for d in got}), 3)
        self.assertEqual(got[3].route, [d.route for d in got[:2] if d.rule == "a-one"][0])
        self.assertEqual([d.header["seq"] for d in warehouse.deliveries(2, WAIT_MS)], [1, 2])
        self.assertEqual(audit.missed, 0)

    def test_many_events_without_a_gap(self):
        audit = self.subscribe("audit")
        warehouse = self.subscribe("warehouse")
        pub = self.publisher("bus-a")
        n = 2000
        for i in range(n):
            pub.send_event(payment(150 + (i % 2) * 100, n=i))
        w = warehouse.deliveries(n, WAIT_MS)
        self.assertEqual([d.header["seq"] for d in w], list(range(1, n + 1)))
        self.assertEqual([d.event["detail"]["n"] for d in w], list(range(n)))
        a = audit.deliveries(n + n // 2, WAIT_MS)
        self.assertEqual([d.header["seq"] for d in a], list(range(1, n + n // 2 + 1)))
        self.assertEqual((audit.missed, warehouse.missed), (0, 0))

    def test_hello_gives_the_baseline_after_missed_deliveries(self):
        audit = self.subscribe("audit")
        pub = self.publisher("bus-a")            # opens after the grace: warehouse is absent
        for _ in range(3):
            pub.send_event(payment(100))
        self.assertEqual(len(audit.deliveries(3, WAIT_MS)), 3)
        warehouse = self.subscribe("warehouse")
        self.assertEqual(warehouse.hello.header["seq"], 3)
        pub.send_event(payment(100))
        (d,) = warehouse.deliveries(1, WAIT_MS)
        self.assertEqual(d.header["seq"], 4)
        self.assertEqual(warehouse.missed, 0)     # the hello was the baseline
        stats, targets = self.stop()
        self.assertEqual(targets["warehouse"]["no_subscriber"], 3)
        self.assertEqual(targets["warehouse"]["delivered"], 1)


class SlowSubscriberTest(BrokerTest):
    """A target too slow for its backlog loses deliveries, and the seq gap
    shows exactly what the broker counted as overflow; a target read in
    time, meanwhile, loses nothing."""

    #  With --sndhwm 1 a target would get one delivery per retry (every ms),
    #  too slow for any reader: 100 lets the reader of shipping keep up.
    args = ("--sndhwm", "100", "--backlog-bytes", "2000000")

    def test_overflow_is_a_seq_gap_and_other_targets_are_not_slowed(self):
        n = 3000                                 # 60 MB: more than sockets and backlog hold
        slow = Subscriber(self.ctx, self.broker.deliver, "warehouse")
        slow.socket.setsockopt(zmq.RCVHWM, 1)
        self.sockets.append(slow)
        slow.wait_hello(WAIT_MS)
        fast_seqs, ready = [], threading.Event()

        def read_fast():                         # shipping, read as it comes, in its own thread
            fast = Subscriber(self.ctx, self.broker.deliver, "shipping")
            try:
                fast.wait_hello(WAIT_MS)
                ready.set()
                while len(fast_seqs) < n:
                    msg = fast.recv(WAIT_MS)
                    if msg.kind == "delivery":
                        fast_seqs.append(msg.header["seq"])
            except Timeout:
                pass
            finally:
                ready.set()
                fast.close()
        reader = threading.Thread(target=read_fast)
        reader.start()
        self.assertTrue(ready.wait(WAIT_MS / 1000))
        pub = self.publisher()
        for i in range(n):
            pub.send_event(payment(1, n=i, pad="z" * 20000))
            if i % 10 == 9:
                time.sleep(0.01)                 # a steady stream (20 MB/s), not one burst
        reader.join(60)
        self.assertFalse(reader.is_alive())
        self.assertEqual(fast_seqs, list(range(1, n + 1)))
        seqs = []
        while True:
            try:
                msg = slow.recv(QUIET_MS * 2)
            except Timeout:
                break
            if msg.kind == "delivery":
                seqs.append(msg.header["seq"])
        self.assertEqual(seqs, sorted(seqs))
        self.assertLess(len(seqs), n)
        #  What the subscriber saw missing (gaps, and a tail a heartbeat
        #  showed), and the tail it can only know of from the broker's
        #  counters (past the last seq it knows of), is what the broker dropped.
        self.assertGreaterEqual(slow.last_seq, seqs[-1])
        self.assertEqual(slow.missed + (n - slow.last_seq), n - len(seqs))
        stats, targets = self.stop()
        self.assertEqual(targets["warehouse"]["overflow"], n - len(seqs))
        self.assertEqual(targets["warehouse"]["delivered"], len(seqs))
        self.assertEqual(targets["shipping"]["delivered"], n)
        self.assertEqual(targets["shipping"]["overflow"], 0)


class BadInputTest(BrokerTest):
    """What the broker refuses: counted, logged, and nothing else is lost."""

    args = ("--max-event-size", "4096", "--max-depth", "8")

    def setUp(self):
        super().setUp()
        self.warehouse = self.subscribe("warehouse")
        self.pub = self.publisher()

    def refused(self, cases, counter):
        """Send every case (a list of frames) between good events; only the
        good ones arrive, in order and without a seq gap; counter counts the
        cases."""
        self.pub.send_event(payment(1, n=-1))
        for i, frames in enumerate(cases):
            self.pub.send_frames(frames)
            self.pub.send_event(payment(1, n=i))
        got = self.warehouse.deliveries(len(cases) + 1, WAIT_MS)
        self.assertEqual([d.event["detail"]["n"] for d in got], list(range(-1, len(cases))))
        self.assertEqual([d.header["seq"] for d in got], list(range(1, len(cases) + 2)))
        self.assertQuiet(self.warehouse)
        stats, _ = self.stop()
        self.assertEqual(stats[counter], len(cases), self.broker.log())
        #  received counts every message read from ingest, refused or not
        self.assertEqual(stats["received"], 2 * len(cases) + 1)
        self.assertEqual(stats["routed"], len(cases) + 1)
        self.assertEqual(stats["received"], sum(stats[k] for k in (
            "routed", "unmatched", "unknown_bus", "malformed", "oversized")))
        return stats

    def test_malformed_messagepack(self):
        good = pack(payment(1))
        bad = [b"", b"\xc1", good[:-1], good + b"\x00", good + good, b"\x82\xa1a",
               pack([1, 2]), pack("event"), pack(None)]
        self.refused([[b"eda_bus", e] for e in bad], "malformed")

    def test_bad_values(self):
        bad = [
            raw_event(detail=b"\xc4\x03abc"),                                   # bin
            raw_event(detail=raw_map([(pack("x"), b"\xd4\x01\x00")])),          # ext
            raw_event(detail=raw_map([(pack("x"), b"\xcf" + struct.pack(">Q", 2**63))])),
            raw_event(detail=raw_map([(b"\x01", pack(1))])),                     # int key
            raw_event(detail=raw_map([(pack("x"), b"\xa2\xff\xfe")])),          # not UTF-8
            raw_event(source=pack(None)),
        ]
        self.refused([[b"eda_bus", raw_map(e)] for e in bad], "malformed")

    def test_bad_envelopes(self):
        def without(key):
            return [(k, v) for k, v in raw_event() if k != pack(key)]
        bad = [without(k) for k in ("version", "id", "source", "detail-type", "time", "detail")]
        bad += [raw_event(detail=pack([1])), raw_event(source=pack(7)),
                raw_event(account=pack(1)), raw_event(region=pack(None)),
                raw_event(resources=pack("arn")), raw_event(resources=pack([1])),
                raw_event(time=pack(0)), raw_event() + [(pack("source"), pack(SOURCE))]]
        self.refused([[b"eda_bus", raw_map(e)] for e in bad], "malformed")

    def test_frame_counts(self):
        good = pack(payment(1))
        self.refused([[b"eda_bus"], [b"eda_bus", good, b""], [b"eda_bus", good, good],
                      [good]], "malformed")

    def test_unknown_bus(self):
        good = pack(payment(1))
        self.refused([[b"other_bus", good], [b"eda_bus2", good], [b"EDA_BUS", good]],
                     "unknown_bus")

    def test_oversized_event(self):
        big = pack(payment(1, pad="x" * 5000))
        self.assertGreater(len(big), 4096)
        self.refused([[b"eda_bus", big]], "oversized")

    def test_event_at_the_size_limit_is_accepted(self):
        event = payment(1, n=0, pad="")
        event["detail"]["pad"] = "x" * (4096 - len(pack(event)) - 2)   # str8 -> str16
        data = pack(event)
        self.assertEqual(len(data), 4096)
        self.pub.send_frames([b"eda_bus", data])
        (d,) = self.warehouse.deliveries(1, WAIT_MS)
        self.assertEqual(d.event_bytes, data)

    def test_nesting_depth(self):
        #  --max-depth 8: the event map is level 1, detail level 2, and every
        #  map or array inside one more; scalars add no level.
        def nested(levels, array=False):
            value = 1
            for _ in range(levels):
                value = [value] if array else {"a": value}
            return value
        fits, fits_arrays, too_deep, too_deep_arrays = (payment(1, n=i) for i in range(4))
        fits["detail"]["deep"] = nested(6)                  # levels 3 to 8
        fits_arrays["detail"]["deep"] = nested(6, True)
        too_deep["detail"]["deep"] = nested(7)              # level 9
        too_deep_arrays["detail"]["deep"] = nested(7, True)
        for event in (fits, too_deep, fits_arrays, too_deep_arrays):
            self.pub.send_event(event)
        self.pub.send_event(payment(1, n=4))
        got = self.warehouse.deliveries(3, WAIT_MS)
        self.assertEqual([d.event["detail"]["n"] for d in got], [0, 1, 4])
        self.assertEqual([d.header["seq"] for d in got], [1, 2, 3])
        stats, _ = self.stop()
        self.assertEqual(stats["malformed"], 2, self.broker.log())
        self.assertIn("nested deeper than the limit of 8 levels", self.broker.log())

    def test_refusals_are_logged_as_documented(self):
        good = pack(payment(1))
        deep = payment(1)
        deep["detail"]["deep"] = {"a": {"a": {"a": {"a": {"a": {"a": {"a": 1}}}}}}}
        no_detail = [(k, v) for k, v in raw_event() if k != pack("detail")]
        cases = [
            ([b"eda_bus", good, good],
             "ingest: expected 2 frames [bus][event], got 3"),
            ([b"other_bus", good], "ingest: refused an event: unknown bus 'other_bus'"),
            ([b"eda_bus", pack(payment(1, pad="x" * 5000))],
             "bytes is over the limit of 4096"),
            ([b"eda_bus", pack(deep)],
             "bus 'eda_bus': msgpack: nested deeper than the limit of 8 levels at offset "),
            ([b"eda_bus", raw_map(no_detail)], "bus 'eda_bus': event: missing 'detail'"),
            ([b"eda_bus", raw_map(raw_event() + [(pack("source"), pack("x"))])],
             "bus 'eda_bus': event: duplicate key 'source'"),
        ]
        #  One broker per case: the log keeps one line per kind per 10 s.
        for frames, text in cases:
            with self.subTest(text=text):
                broker = Broker(args=self.args, grace_ms=0)
                try:
                    pub = Publisher(self.ctx, broker.wait_ingest(), "eda_bus", timeout_ms=WAIT_MS)
                    pub.send_frames(frames)
                    self.assertTrue(broker.wait_log(text), broker.log())
                    pub.close()
                finally:
                    broker.stop()
                    broker.remove()


class BusNameTest(BrokerTest):
    """A bus frame that is not a bus name at all."""

    def test_bad_bus_names_are_refused(self):
        warehouse = self.subscribe("warehouse")
        pub = self.publisher()
        good = pack(payment(1))
        for name in (b"", b"bad bus", b"eda_bus\x00", b"b" * 257, b"\xff\xfe"):
            pub.send_frames([name, good])
        pub.send_event(payment(1))
        (d,) = warehouse.deliveries(1, WAIT_MS)
        self.assertEqual(d.header["seq"], 1)
        self.assertQuiet(warehouse)
        stats, _ = self.stop()
        self.assertEqual(stats["received"], 6)
        self.assertEqual(stats["unknown_bus"], 5)


class LargeEventTest(BrokerTest):
    """The broker's frame limit is 1 MiB by default; an entry is limited to
    256 KB as EventBridge counts it, by the broker too."""

    def test_an_entry_over_256_kb_is_refused_and_the_next_delivered(self):
        warehouse = self.subscribe("warehouse")
        pub = self.publisher()
        pub.send_event(payment(1, pad="y" * 300000))
        data = pub.send_event(payment(2, pad="y" * 200000))
        (d,) = warehouse.deliveries(1, WAIT_MS)
        self.assertEqual(d.event_bytes, data)
        self.assertEqual(d.header["seq"], 1)


class RestartTest(unittest.TestCase):
    """A broker that restarts on the same endpoints: a new epoch, seq from 1,
    and a publisher's queued events delivered (ZMQ_IMMEDIATE off)."""

    def setUp(self):
        self.ctx = zmq.Context()
        self.sockets = []
        self.brokers = []
        self.ingest = "tcp://127.0.0.1:%d" % free_port()
        self.deliver = "tcp://127.0.0.1:%d" % free_port()
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for s in self.sockets:
            s.close()
        self.ctx.term()
        for b in self.brokers:
            b.stop()
            b.remove()

    def start(self):
        broker = Broker(ingest=self.ingest, deliver=self.deliver)
        self.brokers.append(broker)
        return broker

    def test_restart_gives_a_new_epoch_and_loses_no_queued_event(self):
        first = self.start()
        warehouse = Subscriber(self.ctx, self.deliver, "warehouse")
        self.sockets.append(warehouse)
        epoch = warehouse.wait_hello(WAIT_MS).header["epoch"]
        first.wait_ingest()
        pub = Publisher(self.ctx, self.ingest, "eda_bus", timeout_ms=WAIT_MS)
        self.sockets.append(pub)
        pub.send_event(payment(1, n=0))
        (d,) = warehouse.deliveries(1, WAIT_MS)
        self.assertEqual((d.seq, d.epoch, d.restarted), (1, epoch, False))
        self.assertEqual(first.stop(), 0)
        for n in (1, 2, 3):                  # queued in the publisher's pipe meanwhile
            pub.send_event(payment(1, n=n))
        self.start()
        #  The new broker's hello comes before anything else it sends: its
        #  epoch says the broker restarted (a delivery carries none), and
        #  it empties the route table, which the new run fills again.
        hello = warehouse.recv(WAIT_MS)
        self.assertEqual(hello.kind, "hello")
        self.assertGreater(hello.header["epoch"], epoch)
        self.assertEqual(hello.header["seq"], 0)
        self.assertEqual((warehouse.restarts, warehouse.epoch), (1, hello.header["epoch"]))
        self.assertEqual(warehouse.routes, {})
        route = next_message(warehouse)
        self.assertEqual(route.kind, "route")
        self.assertEqual((route.header["bus"], route.header["rule"]),
                         ("eda_bus", "payment-to-warehouse"))
        got = warehouse.deliveries(3, WAIT_MS)
        self.assertEqual([d.event["detail"]["n"] for d in got], [1, 2, 3])
        self.assertEqual([d.seq for d in got], [1, 2, 3])
        self.assertEqual([d.epoch for d in got], [hello.header["epoch"]] * 3)
        self.assertEqual([d.restarted for d in got], [True, False, False])
        self.assertEqual([d.rule for d in got], ["payment-to-warehouse"] * 3)
        self.assertEqual((warehouse.missed, warehouse.restarts), (0, 1))

    def test_immediate_shows_the_broker_going_away(self):
        broker = self.start()
        broker.wait_ingest()
        plain, immediate = self.ctx.socket(zmq.XPUB), self.ctx.socket(zmq.XPUB)
        immediate.setsockopt(zmq.IMMEDIATE, 1)
        for sock in (plain, immediate):
            self.sockets.append(sock)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.ingest)
            self.assertTrue(sock.poll(WAIT_MS, zmq.POLLIN))
            self.assertEqual(sock.recv(), b"\x01")
        broker.stop()
        self.assertTrue(immediate.poll(WAIT_MS, zmq.POLLIN))
        self.assertEqual(immediate.recv(), b"\x00")
        self.assertFalse(plain.poll(QUIET_MS, zmq.POLLIN))     # the pipe outlives the broker


class FrameLayoutTest(BrokerTest):
    """Version 3's layout as the broker sends it, read with a raw SUB as the
    document's snippet reads it: a delivery in two frames, the topic and one
    header map, nothing after it, in frame 1, the header {v, route, seq}; a
    hello, a heartbeat and a route in one frame, their target the topic's."""

    rules = {"eda_bus.json": {"bus": "eda_bus", "rules": [rule("payment-processed", ["rewards"])]}}
    args = ("--heartbeat", "100")

    def test_frame_one_is_the_topic_then_exactly_one_header(self):
        raw = self.ctx.socket(zmq.SUB)
        self.sockets.append(raw)
        raw.setsockopt(zmq.SUBSCRIBE, b"rewards\x00")
        raw.connect(self.broker.deliver)
        kinds = {}
        order = []                              # each kind, when it first came
        self.assertTrue(raw.poll(WAIT_MS), "no hello")
        pub = self.publisher()
        deadline = time.monotonic() + WAIT_MS / 1000
        sent = False
        while len(kinds) < 4 and time.monotonic() < deadline:
            if "hello" in kinds and not sent:
                pub.put(SOURCE, DETAIL_TYPE, {"total_cost": 1, "customer_id": "1", "order_id": "o"})
                sent = True
            if not raw.poll(WAIT_MS):
                break
            frames = raw.recv_multipart()
            topic, nul, rest = frames[0].partition(b"\x00")
            self.assertEqual((topic, nul), (b"rewards", b"\x00"))
            unpacker = msgpack.Unpacker(raw=False)
            unpacker.feed(rest)
            header = unpacker.unpack()
            self.assertEqual(unpacker.tell(), len(rest), "bytes after the header map")
            self.assertEqual(header["v"], 3)
            kind = header.get("ctl", "delivery")
            self.assertEqual(len(frames), 2 if kind == "delivery" else 1, kind)
            if kind == "delivery":
                self.assertEqual(sorted(header), ["route", "seq", "v"])
                self.assertEqual(unpack(frames[1])["detail"]["order_id"], "o")
            else:
                self.assertEqual(header["target"], "rewards")
            if kind not in kinds:
                order.append(kind)
            kinds[kind] = header
        self.assertEqual(sorted(kinds), ["delivery", "heartbeat", "hello", "route"])
        self.assertEqual(order[0], "hello")
        self.assertLess(order.index("route"), order.index("delivery"))
        self.assertEqual(kinds["delivery"]["seq"], 1)
        self.assertEqual(kinds["route"], {"v": 3, "ctl": "route", "target": "rewards", "route": 0,
                                          "bus": "eda_bus", "rule": "payment-processed"})
        self.assertEqual(kinds["delivery"]["route"], kinds["route"]["route"])
        self.assertEqual(sorted(kinds["heartbeat"]), ["ctl", "epoch", "seq", "target", "v"])
        self.assertEqual(kinds["heartbeat"]["epoch"], kinds["hello"]["epoch"])


class WireRulesTest(unittest.TestCase):
    """meshwire applies the document's reader rules to what a stand-in
    broker (a bare XPUB) sends: what version 3 forbids is refused (a version
    2 header included), a delivery must name a route described since the
    last hello, everything before the first hello is ignored, an unknown
    ctl is skipped, and the good messages after all that are read."""

    def setUp(self):
        self.ctx = zmq.Context()
        self.xpub = self.ctx.socket(zmq.XPUB)
        self.xpub.setsockopt(zmq.LINGER, 0)
        port = self.xpub.bind_to_random_port("tcp://127.0.0.1")
        self.sub = Subscriber(self.ctx, "tcp://127.0.0.1:%d" % port, "rewards")
        self.assertTrue(self.xpub.poll(WAIT_MS), "no subscription")
        self.assertEqual(self.xpub.recv(), b"\x01rewards\x00")
        self.event = pack(payment(1))
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        self.sub.close()
        self.xpub.close()
        self.ctx.term()

    #  Headers as version 3's broker writes them, with overrides (None
    #  removes a key).
    @staticmethod
    def _header(header, override):
        header.update(override)
        return {k: v for k, v in header.items() if v is not None}

    @classmethod
    def delivery(cls, **override):
        return cls._header({"v": 3, "route": 0, "seq": 1}, override)

    @classmethod
    def route(cls, **override):
        return cls._header({"v": 3, "ctl": "route", "target": "rewards", "route": 0,
                            "bus": "eda_bus", "rule": "r"}, override)

    @classmethod
    def hello(cls, **override):
        return cls._header({"v": 3, "ctl": "hello", "routed": True, "target": "rewards",
                            "epoch": 1, "seq": 0}, override)

    @classmethod
    def heartbeat(cls, **override):
        return cls._header({"v": 3, "ctl": "heartbeat", "target": "rewards",
                            "epoch": 1, "seq": 0}, override)

    def send(self, header, *frames):
        """One message: the topic and header (a dict, or bytes packed by
        hand) in frame 1, then frames."""
        head = header if isinstance(header, bytes) else pack(header)
        self.xpub.send_multipart([b"rewards\x00" + head] + list(frames))

    def deliver(self, **override):
        self.send(self.delivery(**override), self.event)

    def expect(self, kind, **header):
        """The next message that meshwire reads is of kind, with these
        header values; returns it."""
        msg = self.sub.recv_any(WAIT_MS)
        self.assertIsNotNone(msg, "expected a %s, got one ignored" % kind)
        self.assertEqual(msg.kind, kind, msg)
        for key, value in header.items():
            self.assertEqual(msg.header[key], value, msg)
        return msg

    def assertRefused(self, what=""):
        """The next message is refused: MeshError, not a Timeout."""
        with self.assertRaises(meshwire.MeshError, msg=what) as caught:
            self.sub.recv_any(WAIT_MS)
        self.assertNotIsInstance(caught.exception, Timeout, what)
        return caught.exception

    def start(self, seq=0, routes=((0, "eda_bus", "r"),)):
        """A hello (the stream starts) and route messages, read."""
        self.send(self.hello(seq=seq))
        self.expect("hello", seq=seq)
        for number, bus, rule_name in routes:
            self.send(self.route(route=number, bus=bus, rule=rule_name))
            self.expect("route", route=number)
        self.assertEqual(self.sub.routes, {n: (b, r) for n, b, r in routes})

    def test_what_version_3_forbids_is_refused(self):
        self.start()
        event = self.event
        v2 = {"v": 2, "bus": "eda_bus", "rule": "r", "target": "rewards", "seq": 3, "epoch": 1}
        key_twice = raw_map([(pack("v"), pack(3)), (pack("route"), pack(0)),
                             (pack("route"), pack(0)), (pack("seq"), pack(3))])
        int_key = raw_map([(pack("v"), pack(3)), (pack("route"), pack(0)),
                           (pack("seq"), pack(3)), (pack(1), pack(1))])
        cases = [
            ("a version 2 delivery", [v2, event]),
            ("a version 2 hello", [self.hello(v=2)]),
            ("a version 2 header with a route", [self.delivery(v=2, seq=3), event]),
            ("a version 4 header", [self.delivery(v=4, seq=3), event]),
            ("no version", [self.delivery(v=None, seq=3), event]),
            ("version 1's three frames", [b"", pack(dict(v2, v=1)), event]),
            ("a delivery in three frames", [self.delivery(seq=3), event, event]),
            ("a delivery in one frame", [self.delivery(seq=3)]),
            ("a hello in two frames", [self.hello(), b"x"]),
            ("a heartbeat in two frames", [self.heartbeat(), b"x"]),
            ("a route in two frames", [self.route(rule="wrong"), b"x"]),
            ("bytes after the header", [pack(self.delivery(seq=3)) + b"\x00", event]),
            ("a header that is not a map", [pack([3, 0, 3]), event]),
            ("a hello for another target", [self.hello(target="shipping")]),
            ("a heartbeat for another target", [self.heartbeat(target="shipping")]),
            ("a route for another target", [self.route(target="shipping", rule="wrong")]),
            ("a delivery that names another target", [self.delivery(seq=3, target="shipping"), event]),
            ("a route without a target", [self.route(target=None, rule="wrong")]),
            ("a route without a bus", [self.route(bus=None, rule="wrong")]),
            ("a route without a rule", [self.route(rule=None)]),
            ("a route without a number", [self.route(route=None, rule="wrong")]),
            ("a delivery without a route", [self.delivery(route=None, seq=3), event]),
            ("a delivery without a seq", [self.delivery(seq=None), event]),
            ("a delivery of seq 0", [self.delivery(seq=0), event]),
            ("a hello without an epoch", [self.hello(epoch=None)]),
            ("a heartbeat without a seq", [self.heartbeat(seq=None)]),
            ("a delivery of route 2^20", [self.delivery(route=1 << 20, seq=3), event]),
            ("a delivery of route 2^32", [self.delivery(route=1 << 32, seq=3), event]),
            ("a route message of route 2^20", [self.route(route=1 << 20, rule="wrong")]),
            ("a route that is a string", [self.delivery(route="0", seq=3), event]),
            ("a negative route", [self.route(route=-1, rule="wrong")]),
            ("a seq that is a boolean", [self.delivery(seq=True), event]),
            ("a bus that is an integer", [self.route(bus=7, rule="wrong")]),
            ("a rule that is bytes", [self.route(rule=b"wrong")]),
            ("routed that is an integer", [self.hello(routed=1)]),
            ("a repeated key", [key_twice, event]),
            ("a key that is not a string", [int_key, event]),
            ("an event that is not MessagePack", [self.delivery(seq=3), b"\xc1"]),
        ]
        for what, frames in cases:
            with self.subTest(what):
                self.send(*frames)
                self.assertRefused(what)
        #  Frame 1 without a NUL cannot reach a subscriber of b"rewards\x00"
        #  (ZeroMQ filters on the prefix); meshwire refuses it all the same
        with self.assertRaises(meshwire.MeshError):
            meshwire.split_head(b"rewards" + pack(self.delivery()))
        #  An unknown ctl, in one frame and in two, and the reserved ones
        #  in two, are skipped
        self.send({"v": 3, "ctl": "goodbye"})
        self.send({"v": 3, "ctl": "goodbye"}, b"x")
        self.send({"v": 3, "ctl": "request"}, b"x")
        self.send({"v": 3, "ctl": "delivery"}, b"x")
        self.deliver(seq=7)
        msg = self.sub.recv(WAIT_MS)
        self.assertEqual((msg.kind, msg.seq), ("delivery", 7))
        self.assertEqual(msg.event_bytes, event)
        #  Nothing refused changed the table or the count: route 0 is still
        #  the first route message's, and seq 1 to 6 were missed
        self.assertEqual((msg.bus, msg.rule), ("eda_bus", "r"))
        self.assertEqual(self.sub.routes, {0: ("eda_bus", "r")})
        self.assertEqual((self.sub.last_seq, self.sub.missed, msg.missed), (7, 6, 6))

    def test_a_delivery_must_name_a_described_route(self):
        self.start()
        self.deliver(route=1, seq=1)
        self.assertIn("route 1", str(self.assertRefused()))
        #  Its seq is not counted: the next delivery shows it missed
        self.deliver(seq=2)
        d = self.expect("delivery", route=0, seq=2)
        self.assertEqual((d.bus, d.rule, d.missed, self.sub.missed), ("eda_bus", "r", 1, 1))
        #  Once described, it resolves; the highest number allowed too
        self.send(self.route(route=1, bus="bus/b", rule="other"))
        self.send(self.route(route=(1 << 20) - 1, bus="eda_bus", rule="last"))
        self.deliver(route=1, seq=3)
        self.deliver(route=(1 << 20) - 1, seq=4)
        got = self.sub.deliveries(2, WAIT_MS)
        self.assertEqual([(d.route, d.bus, d.rule) for d in got],
                         [(1, "bus/b", "other"), ((1 << 20) - 1, "eda_bus", "last")])
        self.assertEqual(self.sub.missed, 1)

    def test_the_route_table_is_emptied_at_every_hello(self):
        self.start()
        self.deliver(seq=1)
        self.assertEqual(self.expect("delivery", seq=1).rule, "r")
        #  Another subscriber's hello: same epoch, the numbers start afresh
        self.send(self.hello(seq=1))
        self.expect("hello", seq=1)
        self.assertEqual(self.sub.routes, {})
        self.deliver(seq=2)
        self.assertRefused("route 0 not described since the hello")
        self.send(self.route(rule="r2"))
        self.expect("route", rule="r2")
        self.deliver(seq=3)
        d = self.expect("delivery", seq=3)
        self.assertEqual((d.rule, d.missed, self.sub.restarts), ("r2", 1, 0))

    def test_everything_before_the_first_hello_is_ignored(self):
        #  Queued for the target's other subscribers before ours took
        #  effect: deliveries (one naming a route never described to us),
        #  their route message, a heartbeat. Not ours to read or to miss.
        self.deliver(route=5, seq=3)
        self.send(self.route(route=0, rule="before"))
        self.deliver(route=0, seq=4)
        self.send(self.heartbeat(seq=4))
        self.send(self.hello(seq=4))
        for _ in range(4):
            self.assertIsNone(self.sub.recv_any(WAIT_MS))
        self.assertEqual((self.sub.ignored, self.sub.routes, self.sub.epoch), (4, None, None))
        hello = self.expect("hello", seq=4)
        self.assertEqual((self.sub.epoch, self.sub.last_seq, self.sub.missed), (1, 4, 0))
        #  The route message before the hello is not in the table
        self.assertEqual(self.sub.routes, {})
        self.deliver(route=0, seq=5)
        self.assertRefused("route 0 was described before our hello only")
        self.send(self.route(route=0, rule="after"))
        self.deliver(route=0, seq=6)
        d = self.sub.deliveries(1, WAIT_MS)[0]
        self.assertEqual((d.seq, d.rule, d.epoch), (6, "after", hello.header["epoch"]))
        self.assertEqual((self.sub.missed, self.sub.ignored), (1, 4))     # seq 5, refused

    def test_wait_hello_skips_what_comes_before_it(self):
        self.deliver(seq=9)
        self.send(self.hello(seq=9, epoch=5))
        hello = self.sub.wait_hello(WAIT_MS)
        self.assertEqual((hello.header["seq"], self.sub.ignored), (9, 1))

    def test_epoch_and_restarts_come_from_hellos_and_heartbeats(self):
        self.start()
        self.deliver(seq=1)
        self.deliver(seq=2)
        got = self.sub.deliveries(2, WAIT_MS)
        self.assertEqual([d.epoch for d in got], [1, 1])
        #  A heartbeat above the last delivery shows a lost tail
        self.send(self.heartbeat(seq=4))
        self.expect("heartbeat", seq=4)
        self.assertEqual((self.sub.missed, self.sub.last_seq), (2, 4))
        #  A hello of another epoch: the broker restarted; the new run's
        #  numbers before it (1 and 2) were missed, and a delivery after it
        #  is of its epoch, and carries the gap since the previous delivery
        #  (the heartbeat's 2 and the hello's 2)
        self.send(self.hello(epoch=2, seq=2))
        self.expect("hello", epoch=2)
        self.assertEqual((self.sub.restarts, self.sub.epoch, self.sub.missed), (1, 2, 4))
        self.send(self.route(rule="new-run"))
        self.deliver(seq=3)
        self.deliver(seq=4)
        got = self.sub.deliveries(2, WAIT_MS)
        self.assertEqual([(d.epoch, d.restarted, d.missed, d.rule) for d in got],
                         [(2, True, 4, "new-run"), (2, False, 0, "new-run")])
        self.assertEqual((self.sub.restarts, self.sub.missed), (1, 4))


class ClientTest(unittest.TestCase):
    """meshwire refuses on its side what the document says is invalid."""

    def test_names(self):
        ctx = zmq.Context()
        try:
            for bad in ("", "bad bus", "b" * 257):
                with self.assertRaises(meshwire.MeshError):
                    Publisher(ctx, "tcp://127.0.0.1:1", bad, timeout_ms=10)
            for bad in ("", "re wards", "r" * 65, "a/b"):
                with self.assertRaises(meshwire.MeshError):
                    Subscriber(ctx, "tcp://127.0.0.1:1", bad)
        finally:
            ctx.term()

    def test_no_broker_is_a_timeout(self):
        ctx = zmq.Context()
        try:
            with self.assertRaises(Timeout):
                Publisher(ctx, "tcp://127.0.0.1:1", "eda_bus", timeout_ms=100)
        finally:
            ctx.term()

    def test_entry_checks(self):
        with self.assertRaises(meshwire.MeshError):
            meshwire.check_event(make_event("aws.ec2", "x", {}))
        with self.assertRaises(meshwire.MeshError):
            meshwire.check_event(make_event(SOURCE, "x", {"pad": "z" * (256 * 1024)}))
        meshwire.check_event(make_event(SOURCE, "x", {"pad": "z" * 1000}))


def main():
    if not os.access(binary("mesh-broker"), os.X_OK):
        sys.stderr.write("test_protocol: %s not found: run make first\n" % binary("mesh-broker"))
        return 2
    return cmocka.main(sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
