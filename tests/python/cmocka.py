"""cmocka: run a unittest module and print cmocka's lines, so that
tests/run.sh counts Python tests as it counts the C runners'.

    if __name__ == "__main__":
        sys.exit(cmocka.main(sys.modules[__name__]))

Arguments name tests to run (Class or Class.test_name); -v is verbose.
Prints "[ RUN      ] name" and "[       OK ] name" per test, then
"[  PASSED  ] N test(s)." and, if any failed, "[  FAILED  ] N test(s)".
An expected failure counts as passed (it is a reported bug, see the test).
"""

import sys
import unittest


class CmockaResult(unittest.TextTestResult):
    def startTest(self, test):
        super().startTest(test)
        self.stream.write("[ RUN      ] %s\n" % test.id())
        self.stream.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.stream.write("[       OK ] %s\n" % test.id())

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.stream.write("[       OK ] %s (expected failure: a reported bug)\n" % test.id())

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.stream.write("[  SKIPPED ] %s: %s\n" % (test.id(), reason))


def main(module, argv=None):
    argv = sys.argv[1:] if argv is None else argv
    verbose = "-v" in argv
    names = [a for a in argv if a != "-v"]
    loader = unittest.TestLoader()
    suite = (loader.loadTestsFromNames(names, module) if names
             else loader.loadTestsFromModule(module))
    runner = unittest.TextTestRunner(stream=sys.stdout, resultclass=CmockaResult,
                                     verbosity=2 if verbose else 0)
    result = runner.run(suite)
    failed = [t for t, _ in result.failures + result.errors] + list(result.unexpectedSuccesses)
    passed = result.testsRun - len(failed) - len(result.skipped)
    print("[==========] %d test(s) run." % result.testsRun)
    print("[  PASSED  ] %d test(s)." % passed)
    if failed:
        print("[  FAILED  ] %d test(s), listed below:" % len(failed))
        for t in failed:
            print("[  FAILED  ] %s" % t.id())
    return 0 if result.wasSuccessful() else 1
