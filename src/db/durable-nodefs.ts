import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import { closeSync, fsyncSync, openSync } from 'node:fs';

type InitOptions = Parameters<NodeFS['init']>[1];
/** The part of PGlite's emscripten module used here. */
interface Module {
  readonly FS: { readonly filesystems: { readonly NODEFS: unknown } };
}

/** What emscripten's NODEFS keeps on an open stream and a node (not in PGlite's types). */
interface NodeFsStream {
  nfd?: number;
  node: object;
}
interface NodeFsType {
  stream_ops: { fsync?: (stream: NodeFsStream) => number };
  realPath(node: object): string;
  tryFSOperation<T>(operation: () => T): T;
}

/**
 * PGlite's start parameters with `-F` (fsync off) removed, and WAL syncing through fsync():
 * emscripten implements fdatasync() as a no-op, while fsync() reaches the filesystem's
 * `stream_ops.fsync` (patched below). With `-F`, PostgreSQL in PGlite never asks for a sync.
 */
export const DURABLE_START_PARAMS: readonly string[] = [
  ...PGlite.defaultStartParams.filter((param) => param !== '-F'),
  '-c',
  'fsync=on',
  '-c',
  'wal_sync_method=fsync',
  '-c',
  'synchronous_commit=on',
];

/**
 * PGlite's Node filesystem (emscripten's NODEFS) with a real fsync: NODEFS has no `fsync` stream
 * operation, so every fsync() PostgreSQL makes returns success without touching the disk, and a
 * commit it acknowledged may be lost with the page cache (power loss, kernel crash). Here fsync()
 * becomes `fs.fsyncSync` on the host file (or directory, for PostgreSQL's fsync of a directory
 * after creating or renaming a file in it). The first PGlite on this emscripten module patches it.
 */
export class DurableNodeFS extends NodeFS {
  override async init(pg: PGlite, opts: InitOptions): Promise<{ emscriptenOpts: InitOptions }> {
    const { emscriptenOpts } = await super.init(pg, opts);
    const preRun = [
      ...(emscriptenOpts.preRun ?? []),
      (mod: Module) => {
        const nodefs = mod.FS.filesystems.NODEFS as NodeFsType;
        nodefs.stream_ops.fsync = (stream) =>
          // tryFSOperation turns a Node error into emscripten's errno: a failed fsync fails the
          // caller (PostgreSQL then PANICs rather than acknowledge a commit it could not keep).
          nodefs.tryFSOperation(() => {
            if (stream.nfd !== undefined) {
              fsyncSync(stream.nfd);
              return 0;
            }
            // A directory: NODEFS keeps no host descriptor for it.
            const fd = openSync(nodefs.realPath(stream.node), 'r');
            try {
              fsyncSync(fd);
            } finally {
              closeSync(fd);
            }
            return 0;
          });
      },
    ];
    return { emscriptenOpts: { ...emscriptenOpts, preRun } };
  }
}
