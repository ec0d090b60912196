import { Thumb } from './image-samples';

interface Example {
  id: string;
  label: string;
  predicted: string;
  confidence: number;
}

/**
 * An image run's most confident mistakes on its test split (the trainer's `misclassified` tag: each image's content
 * hash, true class, predicted class and the probability it gave that class), shown from the data service.
 */
export function Misclassified({ dataset, json }: { dataset: string; json: string }) {
  let examples: Example[];
  try {
    examples = JSON.parse(json) as Example[];
  } catch {
    return null;
  }
  return (
    <div className="card" data-testid="misclassified">
      <h2>Misclassified (test split)</h2>
      {examples.length === 0 ? (
        <p className="muted">No test image was misclassified.</p>
      ) : (
        <>
          <p className="muted">The most confident mistakes first: true class → predicted (probability).</p>
          <div className="thumbs">
            {examples.map((e) => (
              <figure key={e.id}>
                <Thumb dataset={dataset} hash={e.id} size={56} />
                <figcaption>
                  {e.label} → <strong>{e.predicted}</strong> ({(e.confidence * 100).toFixed(0)} %)
                </figcaption>
              </figure>
            ))}
          </div>
        </>
      )}
    </div>
  );
}
