"""test_protocol: docs/protocol.md checked against the real broker, in Python.

The client (meshwire.py) was written from the document alone; these tests
run bin/mesh-broker on ephemeral loopback ports, publish and subscribe with
it, and check what the document promises: the example's routing, the
header fields, the hello, per-target sequence numbers, topic framing, and
that bad input is refused, counted and loses nothing else.

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
        self.assertEqual(header["v"], 2)
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
        self.assertEqual(d.header["rule"], "on")
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
        self.assertEqual(r.header["v"], 2)
        self.assertEqual(r.header["bus"], "eda_bus")
        self.assertEqual(r.header["rule"], "payment-processed")
        self.assertEqual(r.header["target"], "rewards")
        self.assertEqual(r.header["seq"], 1)
        self.assertEqual(r.header["epoch"], epoch)
        self.assertNotIn("ctl", r.header)
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
                self.assertEqual(d.header["rule"], rule_name)
                self.assertEqual(d.header["target"], sub.target)
                self.assertEqual(d.header["bus"], "eda_bus")
                self.assertEqual(d.header["epoch"], epoch)
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
        self.assertEqual(sorted(d.header["rule"] for d in got[:2]), ["a-one", "a-two"])
        self.assertEqual([(d.header["bus"], d.header["rule"]) for d in got[2:]],
                         [("bus/b", "b-one"), ("bus-a", "a-one")])
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
        #  What the subscriber saw missing (gaps, and a tail it can only know
        #  of from the broker's counters) is what the broker dropped.
        self.assertEqual(slow.missed + (n - seqs[-1]), n - len(seqs))
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
        self.assertEqual((d.header["seq"], d.header["epoch"]), (1, epoch))
        self.assertEqual(first.stop(), 0)
        for n in (1, 2, 3):                  # queued in the publisher's pipe meanwhile
            pub.send_event(payment(1, n=n))
        self.start()
        hello = warehouse.recv(WAIT_MS)
        self.assertEqual(hello.kind, "hello")
        self.assertGreater(hello.header["epoch"], epoch)
        self.assertEqual(hello.header["seq"], 0)
        got = warehouse.deliveries(3, WAIT_MS)
        self.assertEqual([d.event["detail"]["n"] for d in got], [1, 2, 3])
        self.assertEqual([d.header["seq"] for d in got], [1, 2, 3])
        self.assertTrue(all(d.header["epoch"] == hello.header["epoch"] for d in got))
        self.assertEqual(warehouse.missed, 0)

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
    """Version 2's layout as the broker sends it, read with a raw SUB as the
    document's snippet reads it: a delivery in two frames, the topic and one
    header map, nothing after it, in frame 1; a hello and a heartbeat in one."""

    rules = {"eda_bus.json": {"bus": "eda_bus", "rules": [rule("payment-processed", ["rewards"])]}}
    args = ("--heartbeat", "100")

    def test_frame_one_is_the_topic_then_exactly_one_header(self):
        raw = self.ctx.socket(zmq.SUB)
        self.sockets.append(raw)
        raw.setsockopt(zmq.SUBSCRIBE, b"rewards\x00")
        raw.connect(self.broker.deliver)
        kinds = {}
        self.assertTrue(raw.poll(WAIT_MS), "no hello")
        pub = self.publisher()
        deadline = time.monotonic() + WAIT_MS / 1000
        sent = False
        while len(kinds) < 3 and time.monotonic() < deadline:
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
            self.assertEqual(header["v"], 2)
            self.assertEqual(header["target"], "rewards")
            kind = header.get("ctl", "delivery")
            self.assertEqual(len(frames), 2 if kind == "delivery" else 1, kind)
            if kind == "delivery":
                self.assertEqual(unpack(frames[1])["detail"]["order_id"], "o")
            kinds[kind] = header
        self.assertEqual(sorted(kinds), ["delivery", "heartbeat", "hello"])
        self.assertEqual(kinds["delivery"]["seq"], 1)


class WireRulesTest(unittest.TestCase):
    """meshwire applies the document's reader rules to what a stand-in
    broker (a bare XPUB) sends: what version 2 forbids is refused, an
    unknown ctl skipped, and the good delivery after them read."""

    def setUp(self):
        self.ctx = zmq.Context()
        self.xpub = self.ctx.socket(zmq.XPUB)
        self.xpub.setsockopt(zmq.LINGER, 0)
        port = self.xpub.bind_to_random_port("tcp://127.0.0.1")
        self.sub = Subscriber(self.ctx, "tcp://127.0.0.1:%d" % port, "rewards")
        self.assertTrue(self.xpub.poll(WAIT_MS), "no subscription")
        self.assertEqual(self.xpub.recv(), b"\x01rewards\x00")
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        self.sub.close()
        self.xpub.close()
        self.ctx.term()

    @staticmethod
    def header(**override):
        header = {"v": 2, "bus": "eda_bus", "rule": "r", "target": "rewards", "epoch": 1, "seq": 1}
        header.update(override)
        return {k: v for k, v in header.items() if v is not None}

    def test_what_version_2_forbids_is_refused(self):
        event = pack(payment(1))
        good = pack(self.header())
        cases = [
            ("a version 1 header", [b"rewards\x00" + pack(self.header(v=1)), event]),
            ("version 1's three frames", [b"rewards\x00", pack(self.header(v=1)), event]),
            ("a delivery in three frames", [b"rewards\x00" + good, event, event]),
            ("a hello in two frames", [b"rewards\x00" + pack(
                self.header(ctl="hello", routed=True, bus=None, rule=None)), b"x"]),
            ("bytes after the header", [b"rewards\x00" + good + b"\x00", event]),
            ("another target", [b"rewards\x00" + pack(self.header(target="shipping")), event]),
        ]
        for what, frames in cases:
            with self.subTest(what):
                self.xpub.send_multipart(frames)
                with self.assertRaises(meshwire.MeshError) as caught:
                    self.sub.recv(WAIT_MS)
                self.assertNotIsInstance(caught.exception, Timeout)
        #  Frame 1 without a NUL cannot reach a subscriber of b"rewards\x00"
        #  (ZeroMQ filters on the prefix); meshwire refuses it all the same
        with self.assertRaises(meshwire.MeshError):
            meshwire.split_head(b"rewards" + good)
        #  An unknown ctl, in one frame and in two, is skipped
        self.xpub.send_multipart([b"rewards\x00" + pack({"v": 2, "ctl": "goodbye"})])
        self.xpub.send_multipart([b"rewards\x00" + pack({"v": 2, "ctl": "goodbye"}), b"x"])
        self.xpub.send_multipart([b"rewards\x00" + pack(self.header(seq=7)), event])
        msg = self.sub.recv(WAIT_MS)
        self.assertEqual((msg.kind, msg.header["seq"]), ("delivery", 7))
        self.assertEqual(msg.event_bytes, event)


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
