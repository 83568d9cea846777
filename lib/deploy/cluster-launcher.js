// Runs a Surge service as one Node process per vCPU with node:cluster (the workers share the listening
// port, which separate processes cannot do on Node 20). systemd starts this file; on SIGTERM it
// forwards the signal so every worker drains within SHUTDOWN_DEADLINE_MS, then exits 0. A worker that
// dies after running a while is replaced; one that dies during its first STARTUP_GRACE_MS (bad
// configuration, unreachable database) makes the launcher exit 1, so systemd's Restart=on-failure
// and its start limit handle the retry instead of a silent fork loop.
'use strict';
const cluster = require('node:cluster');
const os = require('node:os');
const path = require('node:path');

const STARTUP_GRACE_MS = 10000;
const workers = Number(process.env.SURGE_WORKERS || os.availableParallelism());
const startedAt = new Map();
let stopping = false;

cluster.setupPrimary({ exec: path.join(__dirname, 'app', 'main.js') });

function fork() {
  const worker = cluster.fork();
  startedAt.set(worker.id, Date.now());
}

for (let i = 0; i < workers; i += 1) fork();

function log(msg, fields) {
  console.error(JSON.stringify({ level: 'error', msg, ...fields }));
}

cluster.on('exit', (worker, code, signal) => {
  const ranMs = Date.now() - (startedAt.get(worker.id) ?? 0);
  startedAt.delete(worker.id);
  if (stopping) {
    if (Object.keys(cluster.workers).length === 0) process.exit(0);
    return;
  }
  if (ranMs < STARTUP_GRACE_MS) {
    log('worker failed during startup; exiting so systemd restarts the service', { pid: worker.process.pid, code, signal, ranMs });
    for (const other of Object.values(cluster.workers)) other.process.kill('SIGTERM');
    process.exit(1);
  }
  log('worker exited; replacing it', { pid: worker.process.pid, code, signal, ranMs });
  fork();
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    stopping = true;
    const alive = Object.values(cluster.workers);
    if (alive.length === 0) process.exit(0);
    for (const worker of alive) worker.process.kill('SIGTERM');
  });
}
