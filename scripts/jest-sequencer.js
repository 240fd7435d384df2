// jest testSequencer (jest.config.js): the longest test files first, so that no long file starts last and
// holds the run while the other jest workers idle. Jest orders by the durations it recorded in its cache,
// which a fresh clone (CI) does not have: it then falls back to file size, which puts chaos.test (short
// file, the longest run) near the end. The seconds below were measured with two files at a time
// (`npm test`, 2026-12-02); a file's own recorded duration, when jest has one, comes first.
const Sequencer = require('@jest/test-sequencer').default;

const MEASURED_SECONDS = {
  'stack/test/reliability/chaos.test.ts': 106,
  'stack/test/cluster/faults.test.ts': 78,
  'stack/test/reliability/crash-matrix.test.ts': 75,
  'stack/test/reliability/bad-inputs.test.ts': 54,
  'product/test/worker/worker-process.test.ts': 48,
  'stack/test/reliability/cancel-matrix.test.ts': 47,
  'stack/test/e2e/payload-size.test.ts': 40,
  'stack/test/e2e/operator-cases.test.ts': 34,
  'stack/test/cluster/bad-inputs.test.ts': 34,
  'product/test/client/watcher.test.ts': 33,
  'stack/test/real-pachd/pipeline.test.ts': 30,
  'product/test/client/cli.test.ts': 27,
  'product/test/workflows/repository.test.ts': 27,
  'product/test/client/install.test.ts': 26,
  'stack/test/cluster/pipeline.test.ts': 26,
  'stack/test/demo.test.ts': 23,
  'stack/test/cluster/ui.test.ts': 23,
  'stack/test/ui.test.ts': 23,
  'stack/test/e2e/unblock.test.ts': 22,
};

class LongestFirst extends Sequencer {
  sort(tests) {
    const seconds = (test) => {
      if (test.duration != null) return test.duration / 1000;
      const rel = test.path.slice(test.context.config.rootDir.length + 1).split('\\').join('/');
      return MEASURED_SECONDS[rel] ?? 0;
    };
    // super.sort sets each test's recorded duration, if jest has one; then longest first (ties keep its order).
    const sorted = super.sort(tests);
    return sorted.map((test, i) => ({ test, i, s: seconds(test) })).sort((a, b) => b.s - a.s || a.i - b.i).map((x) => x.test);
  }
}

module.exports = LongestFirst;
