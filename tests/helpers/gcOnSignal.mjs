// Test-only preload for a child started with --expose-gc: SIGUSR2 forces two full garbage collections
// and writes the process's memory usage to stderr as one `gc-done {json}` line. Nothing in the product.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  process.stderr.write(`gc-done ${JSON.stringify(process.memoryUsage())}\n`);
});
