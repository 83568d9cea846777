// The storefront's side of the waiting room (HTTP contract in the order service): which products
// are in an open sale event, the shopper's ticket, and the admission token that checkout sends as
// `Surge-Admission`. A shop without the waiting-room routes simply has no events.
import { api, ApiError } from './api';

export interface SaleEvent { eventId: string; name: string; startsAt: string; endsAt: string; productIds: string[]; state: 'scheduled' | 'open' | 'ended' }
export interface RoomState { eventId: string; state: SaleEvent['state']; admittedThrough: number; queueLength: number; inletPerSecond: number }
export interface Ticket { eventId: string; ticket: string; position: number }
interface Admission { admissionToken: string; expiresAt: string }

const ADMISSIONS = 'surge.admissions';

export async function saleEvents(): Promise<SaleEvent[]> {
  try {
    return (await api<{ events: SaleEvent[] }>('/api/waiting-room')).events;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return [];
    throw err;
  }
}

/** The open event a product is sold in, if any. */
export async function openEventOf(productId: string): Promise<SaleEvent | undefined> {
  return (await saleEvents()).find((event) => event.state === 'open' && event.productIds.includes(productId));
}

export const roomState = (eventId: string) => api<RoomState>(`/api/waiting-room/${encodeURIComponent(eventId)}`);

/** Joins the queue; the same shopper always gets the same ticket back. */
export const joinQueue = (eventId: string) =>
  api<Ticket>(`/api/waiting-room/${encodeURIComponent(eventId)}/tickets`, { method: 'POST', auth: true });

/** Seconds until a position is admitted, as the contract estimates it. */
export function estimatedWaitSeconds(position: number, room: RoomState): number {
  if (room.inletPerSecond <= 0) return Infinity;
  return Math.max(0, position - room.admittedThrough) / room.inletPerSecond;
}

export async function admit(eventId: string, ticket: string): Promise<void> {
  const admission = await api<Admission>(`/api/waiting-room/${encodeURIComponent(eventId)}/admission`, {
    method: 'POST',
    auth: true,
    body: { ticket },
  });
  const all = readAdmissions();
  all[eventId] = admission;
  sessionStorage.setItem(ADMISSIONS, JSON.stringify(all));
}

/** A still-valid admission token for the event, if the shopper has one. */
export function admissionToken(eventId: string): string | undefined {
  const admission = readAdmissions()[eventId];
  return admission && Date.parse(admission.expiresAt) > Date.now() ? admission.admissionToken : undefined;
}

function readAdmissions(): Record<string, Admission> {
  try {
    return JSON.parse(sessionStorage.getItem(ADMISSIONS) ?? '{}') as Record<string, Admission>;
  } catch {
    return {};
  }
}
