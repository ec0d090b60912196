import { modelCheckViewType } from './onnx-proto';

/** What an uploaded ONNX model may be: its size, its operator sets and versions, its graph's size. */
export interface OnnxPolicy {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Most nodes in all the model's graphs together (subgraphs of If/Loop/Scan included). */
  maxNodes: number;
  /** Deepest nesting of subgraphs (a graph inside an If inside a Loop is 2). */
  maxGraphDepth: number;
  /** The operator domains a model may import and use, each with its allowed opset versions (inclusive). */
  opsets: Readonly<Record<string, readonly [min: number, max: number]>>;
  /** The IR versions accepted (inclusive). */
  irVersions: readonly [min: number, max: number];
}

/**
 * The standard operators ('' and its alias 'ai.onnx') and the classical ML operators ('ai.onnx.ml'), at versions
 * onnxruntime 1.2x runs; no custom domain (com.microsoft and others run native code outside the ONNX standard).
 */
export const DEFAULT_ONNX_POLICY: OnnxPolicy = {
  maxBytes: 200 * 1024 * 1024,
  maxNodes: 10_000,
  maxGraphDepth: 4,
  opsets: { '': [1, 21], 'ai.onnx': [1, 21], 'ai.onnx.ml': [1, 4] },
  irVersions: [3, 10],
};

/** Why an ONNX file was refused, in words that name the rule (the registry answers it as a 422). */
export class OnnxValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxValidationError';
  }
}

/** What a checked model is made of. */
export interface OnnxSummary {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  nodes: number;
}

interface Tensor {
  name?: string;
  data_location?: number;
  external_data?: unknown[];
}
interface SparseTensor {
  values?: Tensor;
  indices?: Tensor;
}
interface Attribute {
  name?: string;
  t?: Tensor;
  tensors?: Tensor[];
  g?: Graph;
  graphs?: Graph[];
  sparse_tensor?: SparseTensor;
  sparse_tensors?: SparseTensor[];
}
interface Node {
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: Attribute[];
}
interface Graph {
  node?: Node[];
  initializer?: Tensor[];
  sparse_initializer?: SparseTensor[];
}
interface Model {
  ir_version?: number | { toNumber(): number };
  opset_import?: { domain?: string; version?: number | { toNumber(): number } }[];
  graph?: Graph;
  functions?: { name?: string; domain?: string }[];
}

const EXTERNAL = 1;
const asNumber = (value: number | { toNumber(): number } | undefined): number | undefined =>
  value === undefined ? undefined : typeof value === 'number' ? value : value.toNumber();
const quoted = (value: string): string =>
  JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
const domainName = (domain: string): string => (domain === '' ? "'' (ai.onnx)" : quoted(domain));

/**
 * Checks a serialised ONNX model before it may become a model version: it must decode as a ModelProto, stay within
 * the size, node and nesting limits, import and use only the allowed operator domains at allowed versions, define no
 * local functions, and keep every tensor's data inside the file (no external data, which onnxruntime would read from
 * a path the file names). Throws an OnnxValidationError naming the first problem; pure (no I/O).
 */
export function validateOnnxModel(bytes: Uint8Array, policy: OnnxPolicy = DEFAULT_ONNX_POLICY): OnnxSummary {
  if (bytes.length === 0) throw new OnnxValidationError('the file is empty: an ONNX model is expected');
  if (bytes.length > policy.maxBytes) {
    throw new OnnxValidationError(
      `the file has ${bytes.length} bytes, more than the ${policy.maxBytes} allowed (REGISTRY_MAX_ARTIFACT_BYTES)`,
    );
  }
  let model: Model;
  try {
    model = modelCheckViewType().decode(bytes) as unknown as Model;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OnnxValidationError(
      `not an ONNX model: the file does not decode as an ONNX ModelProto (${reason})`,
    );
  }
  const irVersion = asNumber(model.ir_version);
  const [irMin, irMax] = policy.irVersions;
  if (irVersion === undefined || irVersion < irMin || irVersion > irMax) {
    throw new OnnxValidationError(
      irVersion === undefined
        ? 'not an ONNX model: it has no ir_version'
        : `ir_version ${irVersion} is not accepted (allowed: ${irMin} to ${irMax})`,
    );
  }
  if (!model.graph) throw new OnnxValidationError('not an ONNX model: it has no graph');
  if (model.functions?.length) {
    throw new OnnxValidationError(
      `the model defines local functions (${quoted(model.functions[0].name ?? '')} in domain ${domainName(model.functions[0].domain ?? '')}); they are not accepted`,
    );
  }
  const opsets = checkOpsets(model, policy);
  const imported = new Set(opsets.map((opset) => opset.domain));
  let nodes = 0;
  const visit = (graph: Graph, depth: number, where: string): void => {
    if (depth > policy.maxGraphDepth) {
      throw new OnnxValidationError(
        `${where}: subgraphs nest deeper than ${policy.maxGraphDepth} levels (the most allowed)`,
      );
    }
    for (const tensor of graph.initializer ?? []) checkTensor(tensor, `${where}: initializer`);
    for (const sparse of graph.sparse_initializer ?? []) checkSparse(sparse, `${where}: sparse initializer`);
    for (const node of graph.node ?? []) {
      nodes++;
      if (nodes > policy.maxNodes) {
        throw new OnnxValidationError(`the model has more than ${policy.maxNodes} nodes (the most allowed)`);
      }
      const domain = node.domain ?? '';
      const label = `${where}: node ${quoted(node.name || node.op_type || '?')} (${node.op_type ?? '?'})`;
      if (!Object.hasOwn(policy.opsets, domain)) {
        throw new OnnxValidationError(
          `${label} uses operator domain ${domainName(domain)}, which is not allowed (allowed: ${allowedDomains(policy)})`,
        );
      }
      if (
        !imported.has(domain === 'ai.onnx' ? '' : domain) &&
        !imported.has(domain === '' ? 'ai.onnx' : domain)
      ) {
        throw new OnnxValidationError(
          `${label} uses domain ${domainName(domain)}, which the model does not import`,
        );
      }
      for (const attribute of node.attribute ?? []) {
        const at = `${label} attribute ${quoted(attribute.name ?? '?')}`;
        if (attribute.t) checkTensor(attribute.t, at);
        for (const tensor of attribute.tensors ?? []) checkTensor(tensor, at);
        if (attribute.sparse_tensor) checkSparse(attribute.sparse_tensor, at);
        for (const sparse of attribute.sparse_tensors ?? []) checkSparse(sparse, at);
        if (attribute.g) visit(attribute.g, depth + 1, at);
        for (const graph of attribute.graphs ?? []) visit(graph, depth + 1, at);
      }
    }
  };
  visit(model.graph, 0, 'graph');
  if (nodes === 0) throw new OnnxValidationError('the graph has no node: there is nothing to run');
  return { irVersion, opsets, nodes };
}

function checkOpsets(model: Model, policy: OnnxPolicy): { domain: string; version: number }[] {
  const opsets = (model.opset_import ?? []).map((opset) => ({
    domain: opset.domain ?? '',
    version: asNumber(opset.version) ?? 0,
  }));
  if (opsets.length === 0) throw new OnnxValidationError('the model imports no operator set (opset_import)');
  for (const { domain, version } of opsets) {
    const range = Object.hasOwn(policy.opsets, domain) ? policy.opsets[domain] : undefined;
    if (!range) {
      throw new OnnxValidationError(
        `the model imports operator domain ${domainName(domain)}, which is not allowed (allowed: ${allowedDomains(policy)})`,
      );
    }
    if (version < range[0] || version > range[1]) {
      throw new OnnxValidationError(
        `the model imports opset ${version} of domain ${domainName(domain)}; allowed: ${range[0]} to ${range[1]}`,
      );
    }
  }
  return opsets;
}

function checkTensor(tensor: Tensor, where: string): void {
  if (tensor.data_location === EXTERNAL || (tensor.external_data?.length ?? 0) > 0) {
    throw new OnnxValidationError(
      `${where}: tensor ${quoted(tensor.name ?? '')} keeps its data in an external file; every tensor must be stored inside the model`,
    );
  }
}

function checkSparse(sparse: SparseTensor, where: string): void {
  if (sparse.values) checkTensor(sparse.values, where);
  if (sparse.indices) checkTensor(sparse.indices, where);
}

function allowedDomains(policy: OnnxPolicy): string {
  return Object.keys(policy.opsets).map(domainName).join(', ');
}
