import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { ServiceCallError } from '@sepal/http-client';
import { DataClient } from './data-client';

const ID = 'a'.repeat(64);
const version = {
  id: ID,
  dataset: 'iris',
  seq: 1,
  parentId: null,
  reason: 'import',
  schema: { features: ['a', 'b'], target: 'y', task: 'classification', labels: ['x', 'z'] },
  rowCount: 3,
  trainRows: 2,
  testRows: 1,
  classCounts: { train: { x: 1, z: 1 }, test: { x: 1 } },
  cleaningRules: [],
  splitPolicy: { testFraction: 0.2, seed: 42, method: 'stratified-hash-stable' },
  source: {},
  createdAt: '2026-01-01T00:00:00.000Z',
};

describe('DataClient', () => {
  let server: Server;
  let baseUrl: string;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  const json = (res: ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };

  beforeAll(async () => {
    server = createServer((req, res) => answer(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads a version that matches the contract, sending the API key', async () => {
    let key: string | undefined;
    answer = (req, res) => {
      key = req.headers['x-api-key'] as string;
      json(res, 200, version);
    };
    await expect(new DataClient(baseUrl, 0, 'k3y-k3y-k3y').version('iris', 'v1')).resolves.toEqual(version);
    expect(key).toBe('k3y-k3y-k3y');
  });

  it('refuses a version that breaks the contract, naming the field', async () => {
    answer = (_req, res) => json(res, 200, { ...version, schema: { ...version.schema, labels: 'x' } });
    await expect(new DataClient(baseUrl, 0).version('iris')).rejects.toThrow(
      /answer does not match the contract at schema\.labels/,
    );
  });

  it('retries a failing data service within its time budget', async () => {
    let calls = 0;
    answer = (_req, res) => (++calls < 3 ? json(res, 503, { message: 'starting' }) : json(res, 200, version));
    await expect(new DataClient(baseUrl, 10_000).version('iris')).resolves.toMatchObject({ id: ID });
    expect(calls).toBe(3);
  });

  it('reports a missing version as a 404 without retrying', async () => {
    let calls = 0;
    answer = (_req, res) => {
      calls++;
      json(res, 404, { message: "dataset 'iris' has no version 'v9'" });
    };
    const error = await new DataClient(baseUrl, 10_000).version('iris', 'v9').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceCallError);
    expect((error as ServiceCallError).status).toBe(404);
    expect(calls).toBe(1);
  });

  it('follows the row cursor page by page and refuses a cursor that does not advance', async () => {
    const page = (cursor: number, nextCursor: number | null) => ({
      dataset: 'iris',
      version: ID,
      split: 'train',
      features: [[cursor, cursor]],
      labels: [0],
      nextCursor,
    });
    answer = (req, res) => {
      const cursor = Number(new URL(req.url ?? '', baseUrl).searchParams.get('cursor'));
      json(res, 200, cursor === -1 ? page(-1, 0) : page(cursor, cursor < 1 ? cursor + 1 : null));
    };
    const rows = await new DataClient(baseUrl, 0).rows('iris', ID, 'train');
    expect(rows.features).toEqual([
      [-1, -1],
      [0, 0],
      [1, 1],
    ]);
    answer = (_req, res) => json(res, 200, page(-1, -1));
    await expect(new DataClient(baseUrl, 0).rows('iris', ID, 'train')).rejects.toThrow(
      /rows cursor did not advance/,
    );
  });
});
