import { DragEvent, useState } from 'react';
import { api } from '../api';
import { useKey } from '../auth';
import { BarChart } from '../charts';
import { ErrorBox } from '../ui';
import { dataUrl } from './image-samples';

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

  const predict = async (file: File | undefined) => {
    if (!file) return;
    setError(undefined);
    setAnswer(undefined);
    try {
      // One read serves both: the preview as a data: URL (the console's CSP takes no blob: image), and the gateway's
      // {"image": "<base64>"} as the part after the comma, whatever media type the browser put before it.
      const url = await dataUrl(file);
      setPreview(url);
      const image = url.slice(url.indexOf(',') + 1);
      setAnswer(await api<ClassAnswer>('inference', path, { method: 'POST', json: { image } }));
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
