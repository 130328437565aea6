// Reads a V8 heap snapshot (v8.writeHeapSnapshot) and tells what holds the memory: the heap by
// constructor (count, self size, and the size the outermost ones retain) and the largest single
// retainers with their chain of dominators, the objects that keep them alive. Retained sizes come
// from the dominator tree (Cooper, Harvey and Kennedy's iterative algorithm), weak edges left out,
// as the DevTools memory panel computes them.
import { readFileSync } from 'node:fs';

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

export interface ConstructorRow {
  readonly name: string;
  readonly count: number;
  readonly selfBytes: number;
  /** Retained by the instances not dominated by another instance of the same name. */
  readonly retainedBytes: number;
}

export interface RetainerRow {
  readonly name: string;
  readonly retainedBytes: number;
  /** The objects that dominate it, nearest first, each with the edge it holds the next by (what keeps it alive). */
  readonly heldBy: readonly string[];
}

export interface StringRow {
  /** The first characters, on one line. */
  readonly start: string;
  readonly bytes: number;
  readonly heldBy: readonly string[];
}

export interface HeapSummary {
  readonly totalBytes: number;
  readonly nodeCount: number;
  readonly byConstructor: readonly ConstructorRow[];
  readonly largest: readonly RetainerRow[];
  readonly largestStrings: readonly StringRow[];
}

export function summariseHeapSnapshot(file: string, top = 25): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { meta } = snap.snapshot;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const [nodeTypes] = meta.node_types;
  const [edgeTypes] = meta.edge_types;
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const edgeTypeAt = meta.edge_fields.indexOf('type');
  const edgeToAt = meta.edge_fields.indexOf('to_node');
  const edgeNameAt = meta.edge_fields.indexOf('name_or_index');
  const weak = edgeTypes.indexOf('weak');
  const { nodes, edges, strings } = snap;
  const n = nodes.length / nodeFields;

  // Each node's first edge (edges are stored node after node).
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += (nodes[i * nodeFields + edgeCountAt] ?? 0) * edgeFields;
    firstEdge[i + 1] = e;
  }
  const successors = function* (i: number): Generator<number> {
    for (let e = firstEdge[i] ?? 0; e < (firstEdge[i + 1] ?? 0); e += edgeFields) {
      if (edges[e + edgeTypeAt] !== weak) yield (edges[e + edgeToAt] ?? 0) / nodeFields;
    }
  };

  // Depth-first from the root (node 0): postorder numbers.
  const post = new Int32Array(n).fill(-1);
  const order: number[] = []; // nodes by postorder number
  const visited = new Uint8Array(n);
  const stack: [number, Generator<number>][] = [[0, successors(0)]];
  visited[0] = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (!top) break;
    const next = top[1].next();
    if (next.done) {
      post[top[0]] = order.length;
      order.push(top[0]);
      stack.pop();
    } else if (!visited[next.value]) {
      visited[next.value] = 1;
      stack.push([next.value, successors(next.value)]);
    }
  }

  // Predecessors of the reachable nodes.
  const predCount = new Uint32Array(n + 1);
  for (const i of order) for (const j of successors(i)) predCount[j + 1] = (predCount[j + 1] ?? 0) + 1;
  for (let i = 0; i < n; i++) predCount[i + 1] = (predCount[i + 1] ?? 0) + (predCount[i] ?? 0);
  const preds = new Uint32Array(predCount[n] ?? 0);
  const fill = predCount.slice(0, n);
  for (const i of order) for (const j of successors(i)) preds[(fill[j] = (fill[j] ?? 0) + 1) - 1] = i;

  // Immediate dominators, iterated in reverse postorder until stable.
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while ((post[a] ?? 0) < (post[b] ?? 0)) a = idom[a] ?? 0;
      while ((post[b] ?? 0) < (post[a] ?? 0)) b = idom[b] ?? 0;
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let k = order.length - 2; k >= 0; k--) {
      const v = order[k] ?? 0;
      let dom = -1;
      for (let p = predCount[v] ?? 0; p < (predCount[v + 1] ?? 0); p++) {
        const u = preds[p] ?? 0;
        if (idom[u] === -1) continue;
        dom = dom === -1 ? u : intersect(u, dom);
      }
      if (dom !== -1 && idom[v] !== dom) {
        idom[v] = dom;
        changed = true;
      }
    }
  }

  // Retained sizes: a node's dominator comes later in postorder.
  const retained = new Float64Array(n);
  for (const i of order) retained[i] = nodes[i * nodeFields + sizeAt] ?? 0;
  for (const i of order) if (i !== 0) retained[idom[i] ?? 0] = (retained[idom[i] ?? 0] ?? 0) + (retained[i] ?? 0);

  const label = (i: number): string => {
    const type = nodeTypes[nodes[i * nodeFields + typeAt] ?? 0] ?? '?';
    const name = strings[nodes[i * nodeFields + nameAt] ?? 0] ?? '';
    if (type === 'object' || type === 'native') return name || `(${type})`;
    if (type === 'closure') return '(closure)';
    if (type.endsWith('string')) return '(string)';
    return `(${type})`;
  };
  const byName = new Map<string, { count: number; selfBytes: number; retainedBytes: number }>();
  let totalBytes = 0;
  for (const i of order) {
    const self = nodes[i * nodeFields + sizeAt] ?? 0;
    totalBytes += self;
    const name = label(i);
    const row = byName.get(name) ?? { count: 0, selfBytes: 0, retainedBytes: 0 };
    row.count++;
    row.selfBytes += self;
    // Outermost instances only, so nested ones (a Map in a Map) are not counted twice.
    let outermost = true;
    for (let d = idom[i] ?? 0; d !== 0; d = idom[d] ?? 0) {
      if (label(d) === name) {
        outermost = false;
        break;
      }
    }
    if (outermost) row.retainedBytes += retained[i] ?? 0;
    byName.set(name, row);
  }
  /** `from`'s edge to `to`: a property name, [index] or a variable of a closure's context. */
  const edgeName = (from: number, to: number): string => {
    for (let e = firstEdge[from] ?? 0; e < (firstEdge[from + 1] ?? 0); e += edgeFields) {
      if ((edges[e + edgeToAt] ?? 0) / nodeFields !== to) continue;
      const type = edgeTypes[edges[e + edgeTypeAt] ?? 0] ?? '';
      const nameOrIndex = edges[e + edgeNameAt] ?? 0;
      return type === 'element' || type === 'hidden' ? `[${String(nameOrIndex)}]` : (strings[nameOrIndex] ?? '');
    }
    return '';
  };
  /** A node in a chain: an object's constructor, a closure's function name. */
  const describe = (i: number): string => {
    const type = nodeTypes[nodes[i * nodeFields + typeAt] ?? 0] ?? '?';
    const name = strings[nodes[i * nodeFields + nameAt] ?? 0] ?? '';
    if (type === 'closure' || type === 'code') return `${type === 'closure' ? '(closure)' : '(code)'} ${name.slice(0, 40)}`.trim();
    return label(i);
  };
  const holders = (i: number): string[] => {
    const chain: string[] = [];
    for (let at = i, d = idom[i] ?? 0; d !== 0 && chain.length < 6; at = d, d = idom[d] ?? 0) {
      const via = edgeName(d, at);
      chain.push(via ? `${describe(d)} .${via.slice(0, 40)}` : describe(d));
    }
    return chain;
  };
  const isRoot = (i: number): boolean => (nodeTypes[nodes[i * nodeFields + typeAt] ?? 0] ?? '') === 'synthetic';
  const largest = order
    .filter((i) => i !== 0 && !isRoot(i))
    .sort((a, b) => (retained[b] ?? 0) - (retained[a] ?? 0))
    .slice(0, top)
    .map((i): RetainerRow => {
      return { name: describe(i), retainedBytes: retained[i] ?? 0, heldBy: holders(i) };
    });
  const largestStrings = order
    .filter((i) => label(i) === '(string)')
    .sort((a, b) => (nodes[b * nodeFields + sizeAt] ?? 0) - (nodes[a * nodeFields + sizeAt] ?? 0))
    .slice(0, 10)
    .map((i): StringRow => ({
      start: (strings[nodes[i * nodeFields + nameAt] ?? 0] ?? '').slice(0, 60).replace(/\s+/g, ' '),
      bytes: nodes[i * nodeFields + sizeAt] ?? 0,
      heldBy: holders(i),
    }));
  return {
    totalBytes,
    nodeCount: order.length,
    byConstructor: [...byName]
      .map(([name, row]) => ({ name, ...row }))
      .sort((a, b) => b.selfBytes - a.selfBytes)
      .slice(0, top),
    largest,
    largestStrings,
  };
}
