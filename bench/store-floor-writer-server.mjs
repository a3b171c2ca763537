// The store floor (store-floor-server.mjs) with webhooks committed on the writer thread
// (HOOKFLOW_SQLITE_INGEST_PATH=writer): the floor before the main-thread ingest path.
process.env.STORE_FLOOR_INGEST_PATH = 'writer';
await import('./store-floor-server.mjs');
