/**
 * The app both CSV import suites run against (real PostgreSQL and RabbitMQ, or the embedded adapters), with the
 * requests and counts they share.
 */
import { DataSource } from 'typeorm';
import { inject as injectRequest } from '@sepal/testing';
import {
  DATA_TEST_MODES,
  DataTestApp,
  DataTestMode,
  SHIPPED_DATA_DIR,
  startDataTestApp,
} from './support/data-test-app';

export const MAX_IMPORT_BYTES = 2 * 1024 * 1024;

/** A CSV with a categorical column, missing cells (empty, NA, ?) and a class target. */
export const PETS = [
  'weight,colour,age,kind',
  '4.1,black,3,cat',
  '30.5,brown,NA,dog',
  '3.9,,2,cat',
  '25,black,?,dog',
  '4.4,white,5,cat',
  '28.1,brown,7,dog',
  '3.5,white,1,cat',
  '35.0,black,9,dog',
  '4.0,grey,4,cat',
  '27.7,white,6,dog',
].join('\n');

/** A large-ish numeric dataset: rows deterministic, target a number. */
export function bigCsv(rows: number, seed = 1): string {
  const lines = ['a;b;c;y'];
  for (let i = 0; i < rows; i++) {
    const a = ((i * 7919 + seed) % 1000) / 10;
    const b = ((i * 104729 + seed) % 997) / 7;
    lines.push(`${a};${b.toFixed(3)};${i % 3 === 0 ? 'x' : 'z'};${(a * 0.3 + b * 0.1).toFixed(4)}`);
  }
  return `${lines.join('\n')}\n`;
}

export type CsvImportMode = DataTestMode;
export const CSV_IMPORT_MODES = DATA_TEST_MODES;

/** Starts the data app for the enclosing describe block (beforeAll) and stops it after (afterAll). */
export function useCsvImportApp(mode: CsvImportMode) {
  let data: DataTestApp;

  const inject = (method: 'GET' | 'POST', url: string, payload?: string | Buffer | object, csv = true) =>
    injectRequest(
      data.app,
      method,
      url,
      payload,
      csv && payload !== undefined ? { 'content-type': 'text/csv' } : {},
    );
  const storedRows = async (dataset: string) => {
    const [row] = await data.app
      .get(DataSource)
      .query(`SELECT count(*)::int AS n FROM data.rows WHERE dataset = $1`, [dataset]);
    return row.n as number;
  };
  const versionCount = async (dataset: string) => {
    const response = await inject('GET', `/datasets/${dataset}/versions`);
    return response.statusCode === 200 ? (response.json() as unknown[]).length : 0;
  };

  beforeAll(async () => {
    data = await startDataTestApp(mode, 'csv', {
      DATA_DIR: SHIPPED_DATA_DIR,
      DATA_MAX_IMPORT_BYTES: String(MAX_IMPORT_BYTES),
    });
  }, 60_000);

  afterAll(async () => {
    await data?.close();
  });

  return {
    get app() {
      return data.app;
    },
    inject,
    storedRows,
    versionCount,
  };
}
