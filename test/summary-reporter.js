// Prints one plain closing line, `jest: N passed, N failed`, after jest's own summary, so the totals
// of every project stand on a single line. A suite that crashed before running its tests counts as
// one failure, so a broken file can never read as green. Before it, when some test engine was not
// real (services/test-support/engines.ts), the same notice as at the start and the suites skipped
// for that reason, each with its reason. Before that, the ten slowest test files, so the run's time
// has names on it (files run in parallel: their times add up to more than the wall time).
const { relative } = require('node:path');

// Kept in step with SKIP_MARK in services/test-support/engines.ts (this file is plain JavaScript).
const SKIPPED_TITLE = /\[skipped: needs (.+)\]$/;
const SLOWEST_SHOWN = 10;

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    this.printSlowest(results.testResults);
    // Set by the engines' global setup in this same process (services/test-support/jest-global-setup.ts).
    const notice = process.env.SURGE_TEST_ENGINE_NOTICE;
    if (notice) {
      process.stdout.write(`\n${notice}\n`);
      const skipped = new Set();
      for (const file of results.testResults) {
        for (const test of file.testResults) {
          const title = test.status === 'pending' && test.ancestorTitles.find((t) => SKIPPED_TITLE.test(t));
          if (title) skipped.add(`  ${relative(this.rootDir, file.testFilePath)} > ${title}`);
        }
      }
      if (skipped.size > 0) process.stdout.write(`skipped for missing engines:\n${[...skipped].join('\n')}\n`);
    }
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const tail = skipped > 0 ? `, ${skipped} skipped` : '';
    process.stdout.write(`jest: ${results.numPassedTests} passed, ${failed} failed${tail}\n`);
  }

  printSlowest(files) {
    const timed = files
      .map((file) => ({ path: relative(this.rootDir, file.testFilePath), seconds: (file.perfStats.end - file.perfStats.start) / 1000 }))
      .filter((file) => Number.isFinite(file.seconds))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, SLOWEST_SHOWN);
    if (timed.length === 0) return;
    const lines = timed.map((file) => `${file.seconds.toFixed(1).padStart(7)} s  ${file.path}`);
    process.stdout.write(`\nslowest test files:\n${lines.join('\n')}\n`);
  }
}
module.exports = SummaryReporter;
