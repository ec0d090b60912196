import type { K8sObject } from './kubernetes-manifests';

/** A workload that may send or receive traffic: a pod of the namespace, or something outside it. */
export interface Peer {
  name: string;
  namespace: string;
  namespaceLabels: Record<string, string>;
  labels: Record<string, string>;
  /** Only peers outside the cluster have one (ipBlock rules select them). */
  ip?: string;
  /** The TCP/UDP ports it listens on. */
  ports: number[];
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}
interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { port?: number | string; protocol?: string }[];
}
interface PolicySpec {
  podSelector: LabelSelector;
  policyTypes?: ('Ingress' | 'Egress')[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  const exact = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return (
    exact &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      switch (operator) {
        case 'In':
          return key in labels && values.includes(labels[key]);
        case 'NotIn':
          return !(key in labels) || !values.includes(labels[key]);
        case 'Exists':
          return key in labels;
        case 'DoesNotExist':
          return !(key in labels);
      }
    })
  );
}

const ipToNumber = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipToNumber(ip) / size) === Math.floor(ipToNumber(base) / size);
}

function peerMatches(rulePeer: PolicyPeer, peer: Peer, policyNamespace: string): boolean {
  if (rulePeer.ipBlock) {
    const { cidr, except = [] } = rulePeer.ipBlock;
    return peer.ip !== undefined && inCidr(peer.ip, cidr) && !except.some((e) => inCidr(peer.ip!, e));
  }
  if (peer.ip !== undefined) return false;
  const namespaceOk = rulePeer.namespaceSelector
    ? matchesSelector(rulePeer.namespaceSelector, peer.namespaceLabels)
    : peer.namespace === policyNamespace;
  return namespaceOk && matchesSelector(rulePeer.podSelector ?? {}, peer.labels);
}

function ruleAllows(
  rule: PolicyRule,
  other: Peer,
  port: number,
  peers: PolicyPeer[] | undefined,
  ns: string,
) {
  const portOk = !rule.ports?.length || rule.ports.some((p) => p.port === undefined || p.port === port);
  return portOk && (!peers?.length || peers.some((p) => peerMatches(p, other, ns)));
}

/**
 * Whether `direction` traffic of `pod` with `other` on `port` is allowed: a pod no policy selects for that direction
 * is open; otherwise one rule of one policy selecting it must allow it (NetworkPolicy semantics).
 */
function allows(
  policies: K8sObject[],
  pod: Peer,
  other: Peer,
  port: number,
  direction: 'Ingress' | 'Egress',
) {
  const selecting = policies.filter((policy) => {
    const spec = policy.spec as PolicySpec;
    const types = spec.policyTypes ?? ['Ingress', ...(spec.egress ? ['Egress' as const] : [])];
    return (
      policy.metadata.namespace === pod.namespace &&
      types.includes(direction) &&
      matchesSelector(spec.podSelector, pod.labels)
    );
  });
  if (selecting.length === 0) return true;
  return selecting.some((policy) => {
    const spec = policy.spec as PolicySpec;
    const rules = direction === 'Ingress' ? (spec.ingress ?? []) : (spec.egress ?? []);
    return rules.some((rule) =>
      ruleAllows(rule, other, port, direction === 'Ingress' ? rule.from : rule.to, pod.namespace),
    );
  });
}

/** Every `source -> destination:port` the policies allow between `peers` (both ends' policies apply). */
export function allowedFlows(policies: K8sObject[], peers: Peer[], policyNamespace: string): string[] {
  const inside = (peer: Peer) => peer.namespace === policyNamespace && peer.ip === undefined;
  const flows: string[] = [];
  for (const source of peers) {
    for (const destination of peers) {
      if (!inside(source) && !inside(destination)) continue;
      for (const port of destination.ports) {
        const out = !inside(source) || allows(policies, source, destination, port, 'Egress');
        const into = !inside(destination) || allows(policies, destination, source, port, 'Ingress');
        if (out && into) flows.push(`${source.name} -> ${destination.name}:${port}`);
      }
    }
  }
  return flows.sort();
}
