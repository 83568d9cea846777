// The production entry every service's main.ts calls: load the configuration, build the context
// and the app, start the workers, listen, and drain on SIGTERM. Timeouts sit above the ALB's idle
// timeout (60-65 s) so the ALB, not the instance, closes idle connections - otherwise a request
// racing the close gets a 502. Drain: readiness turns 503 (for DRAIN_DELAY_MS the listener stays
// open so health checks can see it), then the listener stops accepting, in-flight requests, one
// last request per open keep-alive connection and the messages in hand finish (HTTP and workers
// drain side by side), then the pools close and the process exits 0. If that takes longer than
// SHUTDOWN_DEADLINE_MS it exits 1.
import type { Server } from 'node:http';
import { buildApp, type ServicePlugin, type SurgeApp } from './app';
import { ConfigError, loadConfig, type ServiceConfig } from './config';
import { createServiceContext, type ServiceContext, type ServiceContextOptions } from './context';
import { createDatabase } from './db';
import { migrate } from './migrate';

export const KEEP_ALIVE_TIMEOUT_MS = 70_000;
export const HEADERS_TIMEOUT_MS = 75_000;
/** While draining: how long an idle keep-alive connection may stay open for one last request. */
export const KEEP_ALIVE_DRAIN_MS = 1000;

/** Something running in the background (a queue consumer, an outbox relay) that can be stopped. */
export interface Worker {
  stop(): Promise<void>;
}
export type WorkerStarter = (ctx: ServiceContext) => Worker | Promise<Worker>;

export interface StartServiceOptions {
  name: string;
  plugins: ServicePlugin[];
  workers?: WorkerStarter[];
  /** Parsed configuration; default: loadConfig() from the environment. */
  config?: ServiceConfig;
  context?: Omit<ServiceContextOptions, 'service'>;
}

export interface RunningService {
  app: SurgeApp;
  ctx: ServiceContext;
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  address: string;
  /** The drain sequence; resolves when everything is closed. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** Starts a service without touching process signals (the local runner and tests use this). */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const config = options.config ?? (await loadConfig());
  const ctx = await createServiceContext(config, { ...options.context, service: options.name });
  try {
    if (config.migrateOnStart) {
      // As the configured login: the service's own role may not create anything.
      const admin = createDatabase(config.database);
      const applied = await migrate(admin.writer).finally(() => admin.close());
      if (applied.length) ctx.logger.info({ applied }, 'applied database migrations');
    }
    const app = await buildApp(ctx, options.plugins);
    const workers: Worker[] = [];
    for (const start of options.workers ?? []) workers.push(await start(ctx));
    app.server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    app.server.headersTimeout = HEADERS_TIMEOUT_MS;
    const address = await app.listen({ port: config.port, host: config.host });

    let draining: Promise<void> | undefined;
    const shutdown = () => {
      draining ??= (async () => {
        ctx.logger.info('draining: readiness is 503, finishing in-flight requests and messages');
        app.markDraining();
        if (config.drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.drainDelayMs));
        const cutIdleLater = deferIdleClose(app.server, KEEP_ALIVE_DRAIN_MS);
        const results = await Promise.allSettled([app.close(), ...workers.map((w) => w.stop())]);
        cutIdleLater.cancel();
        for (const r of results) if (r.status === 'rejected') ctx.logger.error({ err: r.reason }, 'error while draining');
        await ctx.close();
      })();
      return draining;
    };
    return { app, ctx, address, shutdown };
  } catch (err) {
    await ctx.close().catch(() => undefined);
    throw err;
  }
}

/**
 * server.close() (inside app.close) cuts every keep-alive connection that is idle at that instant, and a
 * request a client is sending on one right then is lost: the sigterm drill saw 10 per run. Instead the
 * listener closes, each open connection is answered once more, with `Connection: close` (app.ts), and
 * closes itself; connections still idle after `graceMs` (clients that stopped sending) are cut then.
 */
function deferIdleClose(server: Server, graceMs: number): { cancel(): void } {
  const closeIdle = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => undefined;
  const timer = setTimeout(closeIdle, graceMs);
  return { cancel: () => clearTimeout(timer) };
}

/** The process entry point: startService plus SIGTERM/SIGINT handling and exit codes. */
export async function runService(options: StartServiceOptions): Promise<RunningService | undefined> {
  let service: RunningService;
  try {
    service = await startService(options);
  } catch (err) {
    // A configuration error names the variable; anything else is logged with its stack.
    if (err instanceof ConfigError) console.error(`${options.name}: configuration error: ${err.message}`);
    else console.error(`${options.name}: failed to start`, err);
    process.exit(1);
    return undefined;
  }
  const { ctx } = service;
  ctx.logger.info({ address: service.address }, `${options.name} listening`);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal (Ctrl-C reaches a wrapper and this process) must not restart or cut the drain.
    if (signalled) return;
    signalled = true;
    ctx.logger.info({ signal, deadlineMs: ctx.config.shutdownDeadlineMs }, 'shutdown requested');
    const deadline = setTimeout(() => {
      ctx.logger.error('shutdown deadline passed before draining finished; exiting');
      process.exit(1);
    }, ctx.config.shutdownDeadlineMs);
    deadline.unref();
    service.shutdown().then(
      () => {
        ctx.logger.info('drained; exiting');
        process.exit(0);
      },
      (err: unknown) => {
        ctx.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return service;
}
