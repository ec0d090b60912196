import { formatTable } from './table';

/** Writes results as JSON (for scripts, with --json) or as human tables. */
export class Printer {
  constructor(
    readonly json: boolean,
    private readonly out: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
  ) {}

  result(value: unknown, human: () => string): void {
    this.out(this.json ? JSON.stringify(value, null, 2) : human());
  }

  table(value: unknown, headers: string[], rows: (string | number | null | undefined)[][]): void {
    this.result(value, () => (rows.length ? formatTable(headers, rows) : '(none)'));
  }

  line(text: string): void {
    if (!this.json) this.out(text);
  }

  /** A remark beside the result (e.g. how to get the next page): standard error, so JSON output stays parseable. */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }
}
