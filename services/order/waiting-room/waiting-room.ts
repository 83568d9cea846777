// The waiting room's use cases: list the sale events, join an event's queue (one place per shopper),
// read its status, exchange an admitted ticket for an admission token, and decide whether an order
// needs one. Each order process also runs the inlet: every `tickMs` it advances the shared inlet of
// each open event (queue-store.ts; one shared rate, however many processes tick) and keeps the answer
// as its view of the queue, which the status and admission routes read without a Redis call. The
// inlet's rate follows this process's health: while its POST /api/orders p99 over the last half
// `adjustMs` is above `overloadP99Ms` it reports overload on every tick (a report lasts two ticks),
// and a rate step (at most one per `adjustMs`, across all processes) that finds a report halves the
// rate (multiplicative decrease, to a twentieth at least); a step that finds none raises it by a
// tenth of the configured rate (additive increase), up to the configured rate.
import type { Logger } from 'pino';
import type { SaleEventConfig, WaitingRoomConfig } from '../../platform/config';
import { AppError, badRequest, forbidden, notFound, serviceUnavailable } from '../../platform/errors';
import { createWaitingRoomPasses, type WaitingRoomPasses } from './passes';
import type { InletSettings, InletState, QueueStore } from './queue-store';

export type EventState = 'scheduled' | 'open' | 'ended';

/** Queue data outlives its event by a day, so late status reads and admissions still find it. */
const KEEP_AFTER_END_MS = 24 * 3600 * 1000;
/** Fewer order latencies than this in a window say nothing about overload. */
const MIN_SAMPLES_FOR_P99 = 20;
/** Latencies kept per window (the newest); enough for a p99. */
const MAX_SAMPLES = 2000;

export interface EventSummary {
  eventId: string;
  name: string;
  startsAt: string;
  endsAt: string;
  productIds: string[];
  state: EventState;
}

export interface EventStatus extends InletState {
  eventId: string;
  state: EventState;
}

export type AdmissionAnswer =
  | { admitted: true; admissionToken: string; expiresAt: string }
  | { admitted: false; position: number; admittedThrough: number };

export interface WaitingRoom {
  listEvents(): EventSummary[];
  status(eventId: string): Promise<EventStatus>;
  join(eventId: string, shopperId: string): Promise<{ eventId: string; ticket: string; position: number; created: boolean }>;
  admit(eventId: string, shopperId: string, ticket: string): Promise<AdmissionAnswer>;
  /**
   * The first open event (if any) holding one of `productIds` that `admissionToken` does not admit
   * `shopperId` to: the order must be refused naming it.
   */
  eventBlocking(productIds: readonly string[], shopperId: string, admissionToken: string | undefined): Promise<{ eventId: string; productId: string } | undefined>;
  /** One POST /api/orders latency of this process (the overload signal). */
  recordOrderLatency(ms: number): void;
  /** One inlet round for every open event (the timer calls it; tests may too). */
  tick(): Promise<void>;
  start(): void;
  stop(): void;
}

export interface WaitingRoomOptions {
  config: WaitingRoomConfig;
  store: QueueStore;
  logger: Logger;
  now?: () => number;
}

export function createWaitingRoom({ config, store, logger, now = Date.now }: WaitingRoomOptions): WaitingRoom {
  const passes: WaitingRoomPasses = createWaitingRoomPasses(config.admissionKey, config.admissionTtlSeconds, now);
  const events = new Map(config.events.map((event) => [event.eventId, event]));
  const eventOfProduct = new Map<string, SaleEventConfig>();
  for (const event of config.events) for (const id of event.productIds) eventOfProduct.set(id, event);
  const views = new Map<string, InletState>();
  // Half an adjust interval: a step judges the latest orders, not the ones the last step judged.
  const latencies = createLatencyWindow(config.adjustMs / 2, now);
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let lastTickError = 0;

  const stateOf = (event: SaleEventConfig): EventState => {
    const t = now();
    if (t < Date.parse(event.startsAt)) return 'scheduled';
    return t < Date.parse(event.endsAt) ? 'open' : 'ended';
  };
  const eventOrThrow = (eventId: string) => {
    const event = events.get(eventId);
    if (!event) throw notFound(`sale event ${eventId} does not exist`);
    return event;
  };
  const expireAt = (event: SaleEventConfig) => Date.parse(event.endsAt) + KEEP_AFTER_END_MS;
  const settingsOf = (event: SaleEventConfig): InletSettings => ({
    ceilingPerSecond: event.inletPerSecond,
    floorPerSecond: Math.max(1, event.inletPerSecond / 20),
    stepUpPerSecond: Math.max(1, event.inletPerSecond / 10),
    adjustMs: config.adjustMs,
  });
  const refresh = async (event: SaleEventConfig): Promise<InletState> => {
    const view = await store.advance(event.eventId, now(), settingsOf(event), expireAt(event));
    views.set(event.eventId, view);
    return view;
  };
  // The process's view of an open event's queue; the first read of a process waits for one advance.
  const viewOf = async (event: SaleEventConfig): Promise<InletState> => {
    const known = views.get(event.eventId);
    if (known) return known;
    if (stateOf(event) !== 'open') return { admittedThrough: 0, queueLength: 0, inletPerSecond: event.inletPerSecond };
    return refresh(event).catch(() => {
      throw serviceUnavailable('The waiting room is unavailable; try again shortly');
    });
  };

  const tick = async () => {
    const overloaded = latencies.p99() > config.overloadP99Ms;
    for (const event of events.values()) {
      if (stateOf(event) !== 'open') continue;
      try {
        if (overloaded) await store.reportOverload(event.eventId, 2 * config.tickMs);
        await refresh(event);
      } catch (err) {
        // Redis trouble: keep the last view (admission only ever moves forward) and say so now and then.
        if (now() - lastTickError > 10_000) {
          lastTickError = now();
          logger.warn({ err, eventId: event.eventId }, 'waiting room inlet could not advance; keeping the last view');
        }
      }
    }
  };

  const room: WaitingRoom = {
    listEvents() {
      return config.events.map((event) => ({
        eventId: event.eventId,
        name: event.name,
        startsAt: event.startsAt,
        endsAt: event.endsAt,
        productIds: [...event.productIds],
        state: stateOf(event),
      }));
    },

    async status(eventId) {
      const event = eventOrThrow(eventId);
      return { eventId, state: stateOf(event), ...(await viewOf(event)) };
    },

    async join(eventId, shopperId) {
      const event = eventOrThrow(eventId);
      const state = stateOf(event);
      if (state !== 'open') {
        throw new AppError(409, 'event_not_open', `Sale event ${eventId} is ${state === 'scheduled' ? `not open yet (opens ${event.startsAt})` : `over (ended ${event.endsAt})`}`);
      }
      const { position, created } = await store.join(eventId, shopperId, expireAt(event)).catch(() => {
        throw serviceUnavailable('The waiting room is unavailable; try again shortly');
      });
      // The same claims give the same ticket text only within one second (iat); any of them is valid.
      const ticket = await passes.issueTicket({ shopperId, eventId, position }, expireAt(event));
      return { eventId, ticket, position, created };
    },

    async admit(eventId, shopperId, ticketText) {
      const event = eventOrThrow(eventId);
      const ticket = await passes.readTicket(ticketText);
      if (!ticket) throw badRequest('body.ticket is not a valid waiting room ticket');
      if (ticket.shopperId !== shopperId) throw forbidden('This ticket belongs to another shopper');
      if (ticket.eventId !== eventId) throw forbidden(`This ticket is for sale event ${ticket.eventId}, not ${eventId}`);
      const { admittedThrough } = await viewOf(event);
      if (ticket.position > admittedThrough) return { admitted: false, position: ticket.position, admittedThrough };
      return { admitted: true, ...(await passes.issueAdmission({ shopperId, eventId })) };
    },

    async eventBlocking(productIds, shopperId, admissionToken) {
      let admission: Awaited<ReturnType<WaitingRoomPasses['readAdmission']>> | null = null;
      for (const productId of productIds) {
        const event = eventOfProduct.get(productId.toLowerCase());
        if (!event || stateOf(event) !== 'open') continue;
        // Verified once per order, and only when the order holds a product of an open event.
        if (admission === null) admission = admissionToken ? await passes.readAdmission(admissionToken) : undefined;
        if (!admission || admission.shopperId !== shopperId || admission.eventId !== event.eventId) {
          return { eventId: event.eventId, productId };
        }
      }
      return undefined;
    },

    recordOrderLatency: latencies.record,
    tick() {
      // One round at a time: a slow Redis must not pile rounds up.
      ticking ??= tick().finally(() => (ticking = undefined));
      return ticking;
    },
    start() {
      if (timer || config.events.length === 0) return;
      timer = setInterval(() => void room.tick(), config.tickMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return room;
}

/** The latencies of the last `windowMs` (the newest MAX_SAMPLES) and their p99; 0 with too few to judge. */
export function createLatencyWindow(windowMs: number, now: () => number = Date.now) {
  const at: number[] = [];
  const ms: number[] = [];
  return {
    record(latencyMs: number) {
      at.push(now());
      ms.push(latencyMs);
      if (at.length > MAX_SAMPLES) {
        at.shift();
        ms.shift();
      }
    },
    p99(): number {
      const since = now() - windowMs;
      let first = 0;
      while (first < at.length && at[first] < since) first++;
      at.splice(0, first);
      ms.splice(0, first);
      if (ms.length < MIN_SAMPLES_FOR_P99) return 0;
      const sorted = [...ms].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
    },
  };
}
