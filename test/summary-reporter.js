// Prints one plain closing line, `jest: N passed, N failed`, after jest's own summary, so the totals
// of every project stand on a single line. A suite that crashed before running its tests counts as
// one failure, so a broken file can never read as green.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const tail = skipped > 0 ? `, ${skipped} skipped` : '';
    process.stdout.write(`jest: ${results.numPassedTests} passed, ${failed} failed${tail}\n`);
  }
}
module.exports = SummaryReporter;
