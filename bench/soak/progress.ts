/** A line on the console only: progress and clean-up, not part of the report. */
export function progress(line: string): void {
  process.stdout.write(`${line}\n`);
}
