/**
 * The main-thread ingest path (HOOKFLOW_SQLITE_INGEST_PATH=main, the default).
 *
 * Webhooks that arrive in one event-loop turn are inserted and committed here, on the main
 * thread, as ONE transaction on a connection with `synchronous=NORMAL`: in WAL mode that commit
 * only appends frames to the `-wal` file (µs–ms of CPU, no fsync). Then ONE `fdatasync` of the
 * WAL file runs on libuv's thread pool, and the group's webhooks are answered when it completes.
 * The event loop never waits for an fsync, and no thread is woken per batch. Up to two fsyncs run
 * at once; a group is answered by the first fsync that STARTED after its commit ends (one already
 * running may not include its frames) — never earlier. Everything else (claims, step results, retention, checkpoints) stays on the
 * writer thread.
 *
 * Why this is as durable as `synchronous=FULL` (see sqlite.org/wal.html, pragma.html#pragma_synchronous
 * and the WAL file format in fileformat2.html):
 *
 * - Recovery after power loss replays the WAL from its header up to the last valid commit frame
 *   (salts and a running checksum in every frame header); a torn or missing frame ends it. Our
 *   commit's frames lie before the end of the file when the fsync starts, so a completed
 *   `fdatasync` on the WAL file (any fd on the same inode syncs the inode's data and size) makes
 *   them, and every frame before them, durable. With NORMAL SQLite itself never syncs on commit.
 * - The fd stays on the live WAL file: SQLite deletes the WAL only when the last connection to
 *   the database closes, and this process keeps three open (this one, the reader, the writer
 *   thread's) until `close()`. A WAL reset rewrites the header in place and `journal_size_limit`
 *   truncates with ftruncate: both keep the inode.
 * - A checkpoint between our commit and our fsync is safe: before copying any frame into the
 *   database file a checkpoint fsyncs the WAL (walCheckpoint: "Sync the WAL to disk"), then
 *   fsyncs the database file before recording the frames as backfilled. Only frames that were
 *   backfilled — so already durable in the database file — can be overwritten by a WAL reset.
 * - A WAL reset (restart) happens in the first write transaction after a checkpoint backfilled
 *   the whole WAL, and SQLite fsyncs the new WAL header then, even with NORMAL (ticket
 *   ff5be73dee). That fsync must not land on the event loop, so this connection never checkpoints
 *   (`wal_autocheckpoint=0`) and never restarts the WAL: the writer thread checkpoints (PASSIVE,
 *   when asked every `checkpointEveryRows` ingests) holding the shared WAL lock, and, still
 *   holding it, commits one small write of its own — which restarts the WAL on the writer thread,
 *   or appends a frame if a reader holds the old one — so this connection never begins a write
 *   with the whole WAL backfilled. This side only tries the lock (never waits): when the writer
 *   holds it, or SQLite's own write lock is taken (busy timeout 0 here), the group goes to the
 *   writer thread, which commits it with the configured `synchronous` (FULL by default).
 * - Reads see a group as soon as it commits, before its fsync. The worker's claim commits on the
 *   writer thread with FULL, whose fsync covers every earlier frame, so no run starts from a
 *   webhook that a power loss could take back; only a management API read may briefly show one.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { HookflowError } from '../../errors/catalogue.js';
import type { IngestRecord, IngestResult } from '../store.js';
import { SqliteWrites } from './sqlite-writes.js';
import { WAL_LOCK } from './writer-protocol.js';

/** Test-only seam: sees each WAL fsync start and finish (see test/durability-power-loss.test.ts). */
export interface IngestSyncObserver {
  /** `id` names the fsync in `synced` (two may run at once). */
  syncStarting(id: number): void;
  synced(id: number): void;
}

export interface MainIngestOptions {
  /** The write connection: opened with synchronous=NORMAL, busy_timeout=0, wal_autocheckpoint=0. */
  db: Database.Database;
  walFile: string;
  /** False (synchronous=NORMAL configured): answer at commit, as SQLite's NORMAL promises. */
  sync: boolean;
  maxBatch: number;
  maxPending: number;
  timeoutMs: number;
  /** Shared with the writer thread (see WAL_LOCK). */
  walLock: Int32Array;
  /** Commits on the writer thread instead: when the locks are taken or a write fails here. */
  fallback: (record: IngestRecord, now: number) => Promise<IngestResult>;
  /** Asks the writer thread for a checkpoint (every `checkpointEveryRows` ingests). */
  requestCheckpoint: () => void;
  checkpointEveryRows: number;
  observer?: IngestSyncObserver | undefined;
}

interface Waiting {
  args: { record: IngestRecord; now: number };
  resolve: (result: IngestResult) => void;
  reject: (error: Error) => void;
  /** Epoch ms after which it is answered 503 if still uncommitted. */
  deadline: number;
  result?: IngestResult;
}

interface Committed {
  writes: Waiting[];
  deadline: number;
  /** Commit order: an fsync answers the groups up to the last one committed when it started. */
  seq: number;
}

const SWEEP_INTERVAL_MS = 100;
/**
 * fsyncs at once: with one, a webhook arriving during an fsync waited for it to end, then for
 * its own; with two, its group commits and its fsync starts at once. More would mean a commit
 * per event-loop turn, and each commit writes every page it touched, however few webhooks.
 */
const MAX_SYNCS_IN_FLIGHT = 2;
/**
 * A webhook whose stored headers and body exceed this many characters commits on the writer
 * thread: copying megabytes into SQLite pages would hold the event loop for milliseconds
 * (seconds for a batch of 32 MiB bodies), while the commit of a 1 KB webhook costs microseconds.
 */
const WRITER_THREAD_ABOVE_CHARS = 256 * 1024;

export class MainThreadIngest {
  private readonly writes: SqliteWrites;
  private readonly walFd: number;
  private gathering: Waiting[] = [];
  private commitScheduled = false;
  /** Committed groups not answered yet, in commit order. */
  private committed: Committed[] = [];
  private lastSeq = 0;
  /** The last group an fsync already started covers. */
  private coveredSeq = 0;
  private syncsInFlight = 0;
  private waitingCount = 0;
  private rowsSinceCheckpoint = 0;
  private closed = false;
  /**
   * Set by a failed fsync. Linux may then drop the dirty pages and report success on the next
   * fsync, so no later fsync here can vouch for the WAL: every later webhook goes to the writer
   * thread (SQLite's own FULL commit and error handling), as with HOOKFLOW_SQLITE_INGEST_PATH=writer.
   */
  private failed = false;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: MainIngestOptions) {
    this.writes = new SqliteWrites(options.db);
    // 'r': never creates the file; the writer thread's first checkpoint write made it.
    this.walFd = openSync(options.walFile, 'r');
    this.sweeper = setInterval(() => this.expireOverdue(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Ingests gathered, committed and waiting for their fsync. */
  pending(): number {
    return this.waitingCount;
  }

  ingest(record: IngestRecord, now: number): Promise<IngestResult> {
    if (this.closed) return Promise.reject(unavailable('Store is closing'));
    if (this.failed || record.event.bodyJson.length + record.event.headersJson.length > WRITER_THREAD_ABOVE_CHARS) return this.options.fallback(record, now);
    if (this.waitingCount >= this.options.maxPending) return Promise.reject(unavailable('Too many writes waiting for a commit'));
    return new Promise<IngestResult>((resolve, reject) => {
      this.gathering.push({ args: { record, now }, resolve, reject, deadline: Date.now() + this.options.timeoutMs });
      this.waitingCount += 1;
      // While MAX_SYNCS_IN_FLIGHT fsyncs run, webhooks gather and commit when one ends (or once
      // a batch is full): a commit writes every page it touched whatever its size.
      if (!this.commitScheduled && (this.syncsInFlight < MAX_SYNCS_IN_FLIGHT || this.gathering.length >= this.options.maxBatch)) {
        this.commitScheduled = true;
        setImmediate(() => this.commitGathered());
      }
    });
  }

  /** Waits (bounded by the write timeout) for answers still owed, then closes the WAL fd. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const deadline = Date.now() + this.options.timeoutMs;
    while ((this.waitingCount > 0 || this.syncsInFlight > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const group of this.committed) for (const write of group.writes) write.reject(unavailable('Store closed'));
    closeSync(this.walFd);
  }

  private commitGathered(): void {
    this.commitScheduled = false;
    while (this.gathering.length > 0) {
      const group = this.gathering.splice(0, this.options.maxBatch);
      const committed = this.commit(group);
      if (!committed) {
        this.waitingCount -= group.length;
        for (const write of group) this.options.fallback(write.args.record, write.args.now).then(write.resolve, write.reject);
      }
      // Both paths grow the WAL; the writer takes the request after the writes handed to it.
      this.rowsSinceCheckpoint += group.length;
      if (this.rowsSinceCheckpoint >= this.options.checkpointEveryRows) {
        this.rowsSinceCheckpoint = 0;
        this.options.requestCheckpoint();
      }
      if (!committed) continue;
      if (this.options.sync) {
        this.committed.push({ writes: group, deadline: Date.now() + this.options.timeoutMs, seq: ++this.lastSeq });
      } else {
        this.answer(group);
      }
    }
    if (this.syncsInFlight < MAX_SYNCS_IN_FLIGHT && this.lastSeq > this.coveredSeq) this.startSync();
  }

  /**
   * Commits the group in one transaction; false when it must go to the writer thread instead
   * (an fsync failed before, the WAL lock or SQLite's write lock is held elsewhere, or a write failed — the writer
   * isolates failures per webhook and classifies storage errors).
   */
  private commit(group: Waiting[]): boolean {
    const { db, walLock } = this.options;
    if (this.failed) return false;
    if (Atomics.compareExchange(walLock, 0, WAL_LOCK.free, WAL_LOCK.main) !== WAL_LOCK.free) return false;
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch {
      Atomics.store(walLock, 0, WAL_LOCK.free);
      return false;
    }
    try {
      for (const write of group) write.result = this.writes.ingest(write.args);
      db.exec('COMMIT');
      return true;
    } catch {
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } catch {
        // Already out of the transaction: nothing more to undo.
      }
      return false;
    } finally {
      Atomics.store(walLock, 0, WAL_LOCK.free);
    }
  }

  /** One fdatasync for every group committed before it starts; it answers them when it ends. */
  private startSync(): void {
    const upTo = this.lastSeq;
    this.coveredSeq = upTo;
    this.syncsInFlight += 1;
    this.options.observer?.syncStarting(upTo);
    fdatasync(this.walFd, (error) => {
      this.syncsInFlight -= 1;
      if (error !== null) this.failed = true;
      else this.options.observer?.synced(upTo);
      // What gathered meanwhile commits first, so its fsync starts before these answers go out.
      this.commitGathered();
      while (this.committed.length > 0 && (this.committed[0] as Committed).seq <= upTo) {
        const group = this.committed.shift() as Committed;
        if (!this.failed) {
          this.answer(group.writes);
        } else {
          this.waitingCount -= group.writes.length;
          for (const write of group.writes) write.reject(unavailable(`Storage error: ${error?.message ?? 'an earlier WAL fsync failed'}`, error));
        }
      }
    });
  }

  private answer(writes: Waiting[]): void {
    this.waitingCount -= writes.length;
    for (const write of writes) {
      if (write.result !== undefined) write.resolve(write.result);
    }
  }

  /** Webhooks still waiting for their commit or fsync past the write timeout are answered 503. */
  private expireOverdue(): void {
    const now = Date.now();
    // Gathered while an fsync hangs: never committed, so refused for good.
    const late = this.gathering.filter((write) => write.deadline <= now);
    if (late.length > 0) {
      this.gathering = this.gathering.filter((write) => write.deadline > now);
      this.waitingCount -= late.length;
      for (const write of late) write.reject(unavailable('Commit did not finish in time'));
    }
    for (const group of this.committed) {
      if (group.deadline > now || group.writes.length === 0) continue;
      this.waitingCount -= group.writes.length;
      for (const write of group.writes) write.reject(unavailable('Commit did not finish in time'));
      group.writes = [];
    }
  }
}

function unavailable(message: string, cause?: unknown): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_STORAGE_UNAVAILABLE', message, { transient: true, cause });
}
