import { useEffect, useState } from 'react';
import type { ImageSamplesResponse } from '../../../../../libs/contracts/src/http/images.dto';
import { api, call, enc } from '../api';
import { useLoad } from '../hooks';
import type { DatasetVersion } from '../types';
import { ErrorBox, short } from '../ui';
import { VersionSelect } from '../version-select';

/** A blob as a data: URL (the console's Content-Security-Policy takes data: images, not blob: ones). */
export function dataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('cannot read the image'));
    reader.readAsDataURL(blob);
  });
}

/** One stored image: fetched with the key header (an <img src> could not send it), shown as a data: URL. */
export function Thumb({ dataset, hash, size }: { dataset: string; hash: string; size: number }) {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    let cancelled = false;
    void call('data', `/datasets/${enc(dataset)}/images/${hash}`)
      .then(async (response) => {
        if (!response.ok) return;
        const made = await dataUrl(await response.blob());
        if (!cancelled) setUrl(made);
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [dataset, hash]);
  return (
    <img
      src={url}
      alt={`image ${short(hash, 12)}`}
      title={short(hash, 12)}
      width={size}
      height={size}
      style={{ imageRendering: 'pixelated', background: '#000', marginRight: 2 }}
    />
  );
}

/** A per-class grid of the first images of an image dataset's version (the data service's samples). */
export function ImageSamples({ name, versions }: { name: string; versions: DatasetVersion[] }) {
  const [ref, setRef] = useState(versions.length ? `v${versions[versions.length - 1].seq}` : 'latest');
  const [split, setSplit] = useState('');
  const samples = useLoad(
    () =>
      api<ImageSamplesResponse>(
        'data',
        `/datasets/${enc(name)}/versions/${enc(ref)}/samples?perClass=8${split ? `&split=${split}` : ''}`,
      ),
    [name, ref, split],
  );
  const spec = samples.data?.image;
  const size = spec ? Math.max(28, Math.min(96, spec.width * 2)) : 56;
  return (
    <section aria-labelledby="samples-h">
      <h3 id="samples-h">Samples per class</h3>
      <div className="row">
        <VersionSelect
          id="samples-version"
          label="Version"
          placeholder={null}
          versions={versions}
          value={ref}
          onChange={setRef}
        />
        <div className="field">
          <label htmlFor="samples-split">Split</label>
          <select id="samples-split" value={split} onChange={(e) => setSplit(e.target.value)}>
            <option value="">both</option>
            <option value="train">train</option>
            <option value="test">test</option>
          </select>
        </div>
      </div>
      <ErrorBox error={samples.error} what="load the samples" />
      {spec && (
        <p>
          Input shape {spec.height}×{spec.width}×{spec.channels} ({spec.channels === 1 ? 'grey' : 'RGB'},
          resize {spec.resize}).
        </p>
      )}
      <table aria-label="Sample images per class">
        <tbody>
          {(samples.data?.classes ?? []).map((c) => (
            <tr key={c.index}>
              <th scope="row">
                {c.index} {c.name} <span className="muted">({c.count})</span>
              </th>
              <td>
                {c.images.map((image) => (
                  <Thumb key={image.hash} dataset={name} hash={image.hash} size={size} />
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
