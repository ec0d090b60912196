import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { PassThrough } from 'node:stream';
import { InvalidInputError, NotFoundError, TooManyRequestsError, UnprocessableError } from '@sepal/contracts';
import { onnxModelUsing, smallOnnxModel } from '@sepal/testing/onnx-fixture';
import { registryOnFakes } from '../../test/fakes/registry-fakes';

const sha = (content: Buffer) => createHash('sha256').update(content).digest('hex');
const content = smallOnnxModel('artifacts spec');

describe('ArtifactsService', () => {
  it('stores verified content once, under its SHA-256, and serves it back', async () => {
    const { artifacts, store } = registryOnFakes();
    const first = await artifacts.upload(content, ` ${sha(content).toUpperCase()} `, 'trainer');
    expect(first).toEqual({
      created: true,
      artifact: {
        sha256: sha(content),
        size: content.length,
        url: `/artifacts/${sha(content)}`,
        uploadedBy: 'trainer',
      },
    });
    // The same bytes again: nothing new is stored, and the first uploader stays recorded.
    expect(await artifacts.upload(content, sha(content), 'someone-else')).toMatchObject({
      created: false,
      artifact: { uploadedBy: 'trainer' },
    });
    expect([...store.files.keys()]).toEqual([`${sha(content).slice(0, 2)}/${sha(content)}`]);

    const { artifact, stream } = await artifacts.open(sha(content));
    expect(artifact).toMatchObject({ sha256: sha(content), size: content.length, uploadedBy: 'trainer' });
    expect(Buffer.from(await buffer(stream)).equals(content)).toBe(true);
  });

  it.each([
    ['no body', undefined, sha(content), /non-empty body sent as Content-Type: application\/octet-stream/],
    ['an empty body', Buffer.alloc(0), sha(Buffer.alloc(0)), /non-empty body/],
    ['a JSON body', { bytes: 'x' }, sha(content), /non-empty body/],
    ['no hash', content, undefined, /X-Content-SHA256 header must carry the hex SHA-256/],
    ['a hash that is not hex', content, 'z'.repeat(64), /X-Content-SHA256 header/],
  ])('refuses an upload with %s (400)', async (_case, body, stated, message) => {
    const { artifacts, store, artifactsRepository } = registryOnFakes();
    const error = await artifacts.upload(body, stated, 'trainer').catch((e) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(message);
    expect(store.files.size).toBe(0);
    expect(await artifactsRepository.find(sha(content))).toBeNull();
  });

  it('refuses content that does not hash to the stated SHA-256, storing nothing', async () => {
    const { artifacts, store } = registryOnFakes();
    const other = Buffer.from('something else');
    await expect(artifacts.upload(other, sha(content), 'trainer')).rejects.toThrow(
      `SHA-256 mismatch: the header says ${sha(content)}, the body hashes to ${sha(other)}; nothing was stored`,
    );
    expect(store.files.size).toBe(0);
  });

  it.each([
    ['bytes that are not ONNX', Buffer.from('#!/bin/sh\nrm -rf /\n'), /not an ONNX model/],
    ['a truncated model', content.subarray(0, 100), /not an ONNX model/],
    [
      'a model running a foreign operator domain',
      onnxModelUsing('com.microsoft'),
      /operator domain "com\.microsoft", which is not allowed/,
    ],
  ])('refuses %s (422 naming the problem), storing nothing', async (_case, body, message) => {
    const { artifacts, store, artifactsRepository } = registryOnFakes();
    const error = await artifacts.upload(body, sha(body), 'trainer').catch((e) => e);
    expect(error).toBeInstanceOf(UnprocessableError);
    expect(error.message).toMatch(/^the artifact is not an acceptable ONNX model: /);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/nothing was stored$/);
    expect(store.files.size).toBe(0);
    expect(await artifactsRepository.find(sha(body))).toBeNull();
  });

  it('refuses an upload beyond REGISTRY_MAX_CONCURRENT_UPLOADS (429) before reading it, and one over the size limit (413)', async () => {
    const { artifacts, store } = registryOnFakes();
    const open = [new PassThrough(), new PassThrough()];
    const pending = open.map((stream) => artifacts.upload(stream, sha(content), 'trainer'));
    const third = new PassThrough();
    const refused = await artifacts.upload(third, sha(content), 'trainer').catch((e) => e);
    expect(refused).toBeInstanceOf(TooManyRequestsError);
    expect(refused.message).toMatch(/REGISTRY_MAX_CONCURRENT_UPLOADS/);
    expect(third.readableFlowing).toBeNull();
    for (const stream of open) stream.end(content);
    await Promise.all(pending);
    const big = Buffer.alloc(store.limits.maxBytes + 1);
    await expect(artifacts.upload(big, sha(big), 'trainer')).rejects.toThrow(/REGISTRY_MAX_ARTIFACT_BYTES/);
  });

  it('finds nothing for a malformed hash, and answers 404 for an unknown or vanished artifact', async () => {
    const { artifacts, store } = registryOnFakes();
    expect(await artifacts.find('../../etc/passwd')).toBeNull();
    await expect(artifacts.open(sha(content))).rejects.toThrow(NotFoundError);
    await artifacts.upload(content, sha(content), 'trainer');
    store.files.clear();
    await expect(artifacts.open(sha(content))).rejects.toThrow(`unknown artifact '${sha(content)}'`);
  });
});
