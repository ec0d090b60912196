import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { ClassPredictionRow, PredictResponse } from '@sepal/contracts';
import { serviceClient } from '../client/service-client';
import { Printer } from '../output/printer';
import { CliContext } from './cli-context';

/** `--features 5.1,3.5,1.4,0.2` -> one row of numbers (named features: `sepal_length=5.1,...`). */
export function parseFeatureArg(text: string): number[] | Record<string, number> {
  const parts = text.split(',').map((part) => part.trim());
  const named = parts.every((part) => part.includes('='));
  const toNumber = (value: string, what: string) => {
    const number = Number(value);
    if (value === '' || !Number.isFinite(number))
      throw new Error(`--features: ${what} is not a finite number ('${value}')`);
    return number;
  };
  if (named) {
    return Object.fromEntries(
      parts.map((part) => {
        const [name, value] = part.split('=', 2);
        return [name.trim(), toNumber(value.trim(), name.trim())];
      }),
    );
  }
  return parts.map((value, i) => toNumber(value, `value ${i + 1}`));
}

/** Rows of a CSV file of numbers: with a header row, named features; without one, arrays in model order. */
export function parseCsvRows(text: string): (number[] | Record<string, number>)[] {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length === 0) throw new Error('the CSV file has no rows');
  const first = lines[0].split(',').map((cell) => cell.trim());
  const hasHeader = first.some((cell) => cell !== '' && !Number.isFinite(Number(cell)));
  const header = hasHeader ? first : null;
  return lines.slice(hasHeader ? 1 : 0).map((line, index) => {
    const cells = line.split(',').map((cell) => cell.trim());
    const lineNumber = index + (hasHeader ? 2 : 1);
    const values = cells.map((cell, i) => {
      const number = Number(cell);
      if (cell === '' || !Number.isFinite(number)) {
        throw new Error(
          `line ${lineNumber}, column ${header?.[i] ?? i + 1}: '${cell}' is not a finite number`,
        );
      }
      return number;
    });
    if (!header) return values;
    if (values.length !== header.length) {
      throw new Error(`line ${lineNumber}: ${values.length} values for ${header.length} columns`);
    }
    return Object.fromEntries(header.map((name, i) => [name, values[i]]));
  });
}

export function predictCommand(context: CliContext): Command {
  return new Command('predict')
    .description('Score rows on the inference gateway: --features for one row, --file for a CSV of rows.')
    .option('-f, --features <values>', 'one row: 5.1,3.5,1.4,0.2 (model order) or sepal_length=5.1,...')
    .option('--file <path>', 'a CSV file of rows; a header row names the features')
    .action(async (options: { features?: string; file?: string }, cmd: Command) => {
      if (Boolean(options.features) === Boolean(options.file)) {
        throw new Error('give either --features or --file');
      }
      const body = options.features
        ? { features: parseFeatureArg(options.features) }
        : { instances: parseCsvRows(await readFile(options.file as string, 'utf8')) };
      const answer = await serviceClient(context, 'inference').post<PredictResponse>('/predict', body);
      const printer = new Printer(Boolean(cmd.optsWithGlobals().json));
      printer.line(
        `${answer.model.name} v${answer.model.version} (sha256 ${answer.model.sha256.slice(0, 12)})`,
      );
      const first = answer.predictions[0];
      if (first !== undefined && 'value' in first) {
        // A regressor: one value per row.
        printer.table(
          answer,
          ['ROW', 'VALUE'],
          answer.predictions.map((p, i) => [i + 1, 'value' in p ? p.value.toFixed(4) : '-']),
        );
        return;
      }
      const rows = answer.predictions.filter((p): p is ClassPredictionRow => 'class' in p);
      const classes = rows.length ? Object.keys(rows[0].probabilities) : [];
      printer.table(
        answer,
        ['ROW', 'CLASS', ...classes.map((name) => `P(${name})`)],
        rows.map((p, i) => [i + 1, p.class, ...classes.map((name) => p.probabilities[name].toFixed(4))]),
      );
    });
}
