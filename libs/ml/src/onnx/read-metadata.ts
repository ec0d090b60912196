import { modelMetadataViewType } from './onnx-proto';

/** The metadata_props of a serialised ONNX model as a plain object (a repeated key keeps its last value). */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  let decoded: { metadata_props?: { key?: string; value?: string }[] };
  try {
    decoded = modelMetadataViewType().decode(bytes) as typeof decoded;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`readOnnxMetadata: not a readable ONNX model (${reason})`);
  }
  // fromEntries defines own properties, so even a key named __proto__ stays plain data.
  return Object.fromEntries((decoded.metadata_props ?? []).map(({ key, value }) => [key ?? '', value ?? '']));
}
