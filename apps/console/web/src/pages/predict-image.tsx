import { DragEvent, useEffect, useState } from 'react';
import { api } from '../api';
import { useKey } from '../auth';
import { BarChart } from '../charts';
import { ErrorBox } from '../ui';

/** The image an image model takes (its registered signature's `image`, or the gateway's). */
export interface ImageInput {
  height: number;
  width: number;
  channels: number;
}

const IMAGE_FILE = { id: 'image-file', label: 'Image to classify', accept: 'image/png,image/jpeg' };

/** A labelled file chooser of the predict page, allowed with the predict scope only. */
export function FileField(props: {
  id: string;
  label: string;
  accept: string;
  onFile: (file?: File) => void;
}) {
  const { can, why } = useKey();
  return (
    <>
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="file"
        accept={props.accept}
        disabled={!can('predict')}
        title={why('predict')}
        onChange={(event) => props.onFile(event.target.files?.[0])}
      />
    </>
  );
}

/** A classifier's answer to one row or one image: the model, and per row its class and probabilities. */
export interface ClassAnswer {
  model: { name: string; version: number };
  predictions: { class: string; probabilities: Record<string, number> }[];
}

/** The first prediction of an answer: its class, the model that gave it, its probabilities as a bar chart. */
export function PredictionResult({ answer }: { answer: ClassAnswer | undefined }) {
  const p = answer?.predictions[0];
  if (!answer || !p) return null;
  return (
    <div data-testid="prediction">
      <p className="ok" role="status">
        Predicted <strong>{p.class}</strong> by {answer.model.name} v{answer.model.version}
      </p>
      <BarChart
        title="Probabilities"
        labels={Object.keys(p.probabilities)}
        values={Object.values(p.probabilities)}
        max={1}
      />
    </div>
  );
}

/** Base64 of a file's bytes, as the gateway's JSON form takes it ({"image": "<base64>"}). */
async function base64Of(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Predicts one dropped (or chosen) PNG or JPEG with an image model: the picture, the class and the probabilities. The
 * gateway checks the image (type, size, channels) and its refusal is shown as it words it.
 */
export function ImagePredict({ path, image }: { path: string; image: ImageInput }) {
  const { can } = useKey();
  const [preview, setPreview] = useState<string>();
  const [answer, setAnswer] = useState<ClassAnswer>();
  const [error, setError] = useState<Error>();
  const [over, setOver] = useState(false);
  useEffect(() => () => (preview ? URL.revokeObjectURL(preview) : undefined), [preview]);

  const predict = async (file: File | undefined) => {
    if (!file) return;
    setError(undefined);
    setAnswer(undefined);
    setPreview(URL.createObjectURL(file));
    try {
      setAnswer(
        await api<ClassAnswer>('inference', path, { method: 'POST', json: { image: await base64Of(file) } }),
      );
    } catch (e) {
      setError(e as Error);
    }
  };
  const drop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setOver(false);
    if (can('predict')) void predict(event.dataTransfer.files[0]);
  };
  const grey = image.channels === 1 ? 'grey' : 'colour';
  return (
    <section className="card" aria-labelledby="image-h">
      <h2 id="image-h">One image</h2>
      <div
        className={over ? 'dropzone over' : 'dropzone'}
        data-testid="image-drop"
        onDragOver={(event) => {
          event.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={drop}
      >
        <p>
          Drop a PNG or JPEG of {image.width}×{image.height} pixels ({grey}) here, or choose one:
        </p>
        <FileField {...IMAGE_FILE} onFile={(file) => void predict(file)} />
      </div>
      {preview && <img className="preview" src={preview} alt="the image sent" width={112} height={112} />}
      <ErrorBox error={error} what="classify the image" />
      <PredictionResult answer={answer} />
    </section>
  );
}
