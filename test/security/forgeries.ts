/*
 * What the attack suites forge and how they call a keyed app: shared by forged-events.test.ts (apps in the test's
 * process) and forged-events-processes.test.ts (apps as processes under their own broker users).
 */
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { EventNames, type EventPayloadInput } from '@sepal/contracts';

/** A time years ahead: a forgery's way to make every real event look superseded. */
export const FAR_FUTURE = '2099-01-01T00:00:00.000Z';

/** model.promoted naming the champion's version number with another digest, on the attacker's host. */
export const forgedPromotion = (
  modelName: string,
  version: number,
  sha256: string,
  foreignUrl: string,
): EventPayloadInput<typeof EventNames.ModelPromoted> => ({
  modelName,
  alias: 'champion',
  version,
  sha256,
  artifactUrl: `${foreignUrl}/model.onnx`,
  previousVersion: null,
  reason: 'forged',
  promotedBy: 'admin',
  promotedAt: FAR_FUTURE,
});

/** model.traffic sending all traffic to a version on the attacker's host, with a huge revision. */
export const forgedTraffic = (
  modelName: string,
  sha256: string,
  foreignUrl: string,
): EventPayloadInput<typeof EventNames.ModelTraffic> => ({
  modelName,
  weights: [{ version: 7, weight: 100, sha256, artifactUrl: `${foreignUrl}/v7.onnx` }],
  shadow: null,
  reason: 'forged',
  changedBy: 'admin',
  changedAt: FAR_FUTURE,
  revision: 1_000_000,
});

/** model.registered naming an artifact never uploaded, on the attacker's host. */
export const forgedRegistration = (
  modelName: string,
  version: number,
  runId: string,
  sha256: string,
  foreignUrl: string,
): EventPayloadInput<typeof EventNames.ModelRegistered> => ({
  modelName,
  version,
  runId,
  sha256,
  artifactUrl: `${foreignUrl}/forged.onnx`,
  metrics: { test_accuracy: 1 },
  registeredAt: FAR_FUTURE,
});

/** A call with `key`: JSON, or raw bytes as application/octet-stream; answers the status and the parsed body. */
export async function keyedCall(
  url: string,
  method: string,
  key: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const raw = body instanceof Uint8Array;
  const response = await fetch(url, {
    method,
    headers: {
      'x-api-key': key,
      ...(body !== undefined
        ? { 'content-type': raw ? 'application/octet-stream' : 'application/json' }
        : {}),
      ...headers,
    },
    body: body === undefined ? undefined : raw ? Buffer.from(body) : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

/** The attacker's host: it serves a model file to anyone and records every request (a test expects none). */
export interface AttackerHost {
  url: string;
  requests: { url?: string; key?: string | string[] }[];
  close(): Promise<void>;
}

export async function startAttackerHost(modelBytes: Uint8Array): Promise<AttackerHost> {
  const requests: AttackerHost['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url, key: req.headers['x-api-key'] });
    res.end(Buffer.from(modelBytes));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
