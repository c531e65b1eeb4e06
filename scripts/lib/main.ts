/**
 * Runs a script's work when the script itself is what node was asked to run
 * (not when another script imports it), reporting a failure with exit 1.
 */
export function runIfMain(file: string, what: string, work: () => Promise<string>): void {
  if (!process.argv[1]?.endsWith(file)) return;
  work().then(
    (out) => process.stdout.write(out),
    (err: unknown) => {
      process.stderr.write(`${what} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
