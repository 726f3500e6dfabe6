"""test_rules_doc: every example of docs/rules.md, run against the binaries.

docs/rules.md writes its examples in a few table shapes, and this test runs
each row, so that the document cannot drift from the code:

  | pattern | event | result |    bin/mesh test-pattern: "matches" or "no match"
  | pattern | reason |           bin/mesh test-pattern refuses it with this reason
  | rule file | message |        bin/mesh-broker --check prints exactly this line
                                 (the file is rules.json in a fresh directory)

and every ```json block that is a rule file (it has "bus") must pass
`mesh-broker --check`, and every "$ command" of a ```console block must
print what follows it. Events in the tables show only the fields that
matter; the envelope fields test-pattern requires are filled in here.

Run: python3 tests/python/test_rules_doc.py [-v] (after make).
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cmocka  # noqa: E402
from brokerkit import ROOT, binary  # noqa: E402

DOC = os.path.join(ROOT, "docs", "rules.md")

ENVELOPE = {"version": "0", "id": "0b7b0c6e-3c1f-4a53-9e0b-6c1a3f2d5e10",
            "detail-type": "Payment Processed", "source": "demo.payments",
            "account": "000000000000", "time": "2026-11-27T09:00:00Z",
            "region": "local", "resources": [], "detail": {}}


def cells(line):
    """The cells of a markdown table row; `\\|` is a literal bar."""
    line = line.strip().strip("|")
    parts = re.split(r"(?<!\\)\|", line)
    return [p.strip().replace("\\|", "|") for p in parts]


def code(cell):
    """The text of a cell that is one `code span`, else None."""
    m = re.fullmatch(r"`(.*)`", cell)
    return m.group(1) if m else None


def tables(text):
    """(header cells, [(line number, row cells)]) for every table."""
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"\|[-| :]+\|$", lines[i + 1]):
            header = cells(lines[i])
            rows, j = [], i + 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append((j + 1, cells(lines[j])))
                j += 1
            out.append((header, rows))
            i = j
        else:
            i += 1
    return out


def blocks(text, lang):
    """(line number, text) of every ```lang fenced block."""
    out = []
    for m in re.finditer(r"^```%s\n(.*?)^```" % lang, text, re.S | re.M):
        out.append((text[:m.start()].count("\n") + 1, m.group(1)))
    return out


def run(argv, cwd=ROOT):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=30)


class RulesDocTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(DOC) as f:
            cls.text = f.read()
        cls.tables = tables(cls.text)

    def rows(self, header):
        found = [rows for h, rows in self.tables if [c.lower() for c in h] == header]
        self.assertTrue(found, "docs/rules.md has no table | %s |" % " | ".join(header))
        return [row for rows in found for row in rows]

    def test_pattern_examples(self):
        rows = self.rows(["pattern", "event", "result"])
        self.assertGreater(len(rows), 40)
        for line, (pattern, event, result) in rows:
            with self.subTest(line=line):
                pattern, event = code(pattern), code(event)
                self.assertIsNotNone(pattern, "line %d: pattern is not `code`" % line)
                self.assertIn(result, ("matches", "no match"), "line %d" % line)
                full = dict(ENVELOPE, **json.loads(event))
                r = run([binary("mesh"), "test-pattern", "--pattern", pattern,
                         "--event", json.dumps(full)])
                expected = (0, "true") if result == "matches" else (1, "false")
                self.assertEqual((r.returncode, r.stdout.strip()), expected,
                                 "docs/rules.md:%d: %s on %s: %s" % (line, pattern, event, r.stderr))

    def test_pattern_errors(self):
        rows = self.rows(["pattern", "reason"])
        self.assertGreater(len(rows), 20)
        for line, (pattern, reason) in rows:
            with self.subTest(line=line):
                pattern, reason = code(pattern), code(reason)
                r = run([binary("mesh"), "test-pattern", "--pattern", pattern,
                         "--event", json.dumps(ENVELOPE)])
                self.assertEqual(r.returncode, 2, "docs/rules.md:%d: %s" % (line, r.stdout))
                first = r.stderr.splitlines()[0]
                self.assertEqual(first, "InvalidEventPatternException: Event pattern is not valid. "
                                 "Reason: " + reason, "docs/rules.md:%d" % line)

    def test_rule_file_errors(self):
        rows = self.rows(["rule file", "message"])
        self.assertGreater(len(rows), 15)
        for line, (body, message) in rows:
            with self.subTest(line=line):
                body, message = code(body), code(message)
                with tempfile.TemporaryDirectory() as d:
                    with open(os.path.join(d, "rules.json"), "w") as f:
                        f.write(body)
                    r = run([binary("mesh-broker"), "--check", "--config", "rules.json"], cwd=d)
                self.assertEqual(r.returncode, 1, "docs/rules.md:%d: %s" % (line, r.stdout))
                self.assertEqual(r.stderr.strip(), "mesh-broker: " + message,
                                 "docs/rules.md:%d" % line)

    def test_rule_files_pass_the_check(self):
        files = [(line, body) for line, body in blocks(self.text, "json")
                 if body.lstrip().startswith("{") and '"bus"' in body]
        self.assertTrue(files)
        for line, body in files:
            with self.subTest(line=line):
                with tempfile.TemporaryDirectory() as d:
                    with open(os.path.join(d, "rules.json"), "w") as f:
                        f.write(body)
                    r = run([binary("mesh-broker"), "--check", "--config", "rules.json"], cwd=d)
                self.assertEqual(r.returncode, 0, "docs/rules.md:%d: %s" % (line, r.stderr))

    def test_console_examples(self):
        examples = 0
        for line, body in blocks(self.text, "console"):
            lines = body.splitlines()
            i = 0
            while i < len(lines):
                if not lines[i].startswith("$ "):
                    i += 1
                    continue
                command = lines[i][2:]
                expected = []
                i += 1
                while i < len(lines) and not lines[i].startswith("$ "):
                    expected.append(lines[i])
                    i += 1
                argv = shlex.split(command)
                argv[0] = binary(os.path.basename(argv[0]))
                with self.subTest(command=command):
                    r = run(argv)
                    self.assertEqual((r.stdout + r.stderr).splitlines(), expected,
                                     "docs/rules.md:%d: %s" % (line, command))
                    examples += 1
        self.assertGreater(examples, 0)


if __name__ == "__main__":
    for name in ("mesh", "mesh-broker"):
        if not os.access(binary(name), os.X_OK):
            sys.stderr.write("test_rules_doc: %s not found: run make first\n" % binary(name))
            sys.exit(2)
    sys.exit(cmocka.main(sys.modules[__name__]))
