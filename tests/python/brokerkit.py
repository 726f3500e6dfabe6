"""brokerkit: run the real bin/mesh-broker for the Python tests.

Each Broker runs in a private temporary directory and binds two free
loopback ports chosen at random below the kernel's ephemeral range (see
PORTS), and its endpoints file says when ingest is open, as for the C tests
(tests/support/testkit.c). stop() sends SIGTERM,
waits, kills after a timeout, and parses the final stats line of the log;
an atexit hook kills whatever a failing test left running.

    with Broker(config="config/eda_bus.json") as broker:
        broker.wait_ingest()
        ...
    broker.stats["malformed"], broker.target_stats["rewards"]["seq"]
"""

import atexit
import json
import os
import re
import shutil
import random
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

_running = set()


def _kill_all():
    for proc in list(_running):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


atexit.register(_kill_all)


def binary(name):
    """A project binary: $MESH_BIN/name, else bin/name."""
    return os.path.join(os.environ.get("MESH_BIN", os.path.join(ROOT, "bin")), name)


#  Ports are chosen below the kernel's ephemeral range (where "tcp://...:*"
#  and bind to 0 land): a ZeroMQ socket of some other test run that is still
#  reconnecting to a broker gone away aims at a port of that range, and must
#  not find one of our brokers there.
PORTS = (20000, 32000)


def free_port():
    """A TCP port on 127.0.0.1, outside the ephemeral range, free a moment ago."""
    while True:
        port = random.randint(*PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def parse_stats(line):
    """{"received": 3, ...} and {"rewards": {"seq": 1, ...}} from a stats line."""
    stats, targets = {}, {}
    for key, value in re.findall(r"(\S+?)=(\S+)", line):
        if key.startswith("target:"):
            targets[key[len("target:"):]] = {
                k: int(v) for k, v in (pair.split(":") for pair in value.split(","))}
        elif value.isdigit():
            stats[key] = int(value)
    return stats, targets


class Broker:
    """One mesh-broker process on free loopback ports."""

    def __init__(self, config=None, rules=None, args=(), grace_ms=300,
                 ingest=None, deliver=None):
        """config: a path (file or directory); rules: {file name: dict} written
        into a rule directory of the temporary directory; args: more flags;
        ingest, deliver: the endpoints to bind, by default on ports of
        free_port() (a broker restarted on the same ones gets them again)."""
        ingest = ingest or "tcp://127.0.0.1:%d" % free_port()
        deliver = deliver or "tcp://127.0.0.1:%d" % free_port()
        self.dir = tempfile.mkdtemp(prefix="mesh-py-")
        if rules is not None:
            config = os.path.join(self.dir, "rules")
            os.mkdir(config)
            for name, body in rules.items():
                with open(os.path.join(config, name), "w") as f:
                    json.dump(body, f)
        self.config = config or os.path.join(ROOT, "config", "eda_bus.json")
        self.endpoints = os.path.join(self.dir, "endpoints")
        self.out_path = os.path.join(self.dir, "broker.out")
        self.err_path = os.path.join(self.dir, "broker.err")
        argv = [binary("mesh-broker"), "--config", self.config,
                "--ingest", ingest, "--deliver", deliver, "--api", "tcp://127.0.0.1:*",
                "--endpoints-file", self.endpoints, "--startup-grace", str(grace_ms)]
        argv += list(args)
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL, cwd=ROOT)
        _running.add(self.proc)
        self.stats = None
        self.target_stats = None
        self.deliver = self._wait_endpoint("deliver", 10000)

    def _endpoint(self, key):
        try:
            with open(self.endpoints) as f:
                for line in f:
                    if line.startswith(key + "="):
                        value = line[len(key) + 1:].strip()
                        if value:
                            return value
        except FileNotFoundError:
            pass
        return None

    def _wait_endpoint(self, key, timeout_ms):
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            value = self._endpoint(key)
            if value:
                return value
            if self.proc.poll() is not None:
                raise RuntimeError("mesh-broker exited with %d: %s"
                                   % (self.proc.returncode, self.log()))
            time.sleep(0.01)
        raise RuntimeError("mesh-broker: no %s endpoint after %d ms: %s"
                           % (key, timeout_ms, self.log()))

    def wait_ingest(self, timeout_ms=10000):
        """The ingest endpoint, once the broker opens it (after its routed
        targets are subscribed, or after the start-up grace)."""
        self.ingest = self._wait_endpoint("ingest", timeout_ms)
        return self.ingest

    def log(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def wait_log(self, needle, timeout_ms=3000):
        """True once the broker's log contains needle."""
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            if needle in self.log():
                return True
            time.sleep(0.02)
        return False

    def last_stats(self):
        """The last stats line of the log (--stats-interval), parsed."""
        lines = [l for l in self.log().splitlines() if " stats: " in l]
        return parse_stats(lines[-1].split(" stats: ", 1)[1]) if lines else (None, None)

    def stop(self, timeout_s=5):
        """SIGTERM, then SIGKILL after timeout_s; returns the exit status and
        fills stats and target_stats from the final stats line."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _running.discard(self.proc)
        self.out.close()
        self.err.close()
        text = self.log()
        if "final stats:" in text:
            self.stats, self.target_stats = parse_stats(
                text.split("final stats:", 1)[1].splitlines()[0])
        return self.proc.returncode

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
