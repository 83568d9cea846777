// The two signed things the waiting room hands out, both HS256 JWTs under the waiting room's own key
// (WAITING_ROOM_ADMISSION_KEY, not the login token key, so the two can change independently):
// - a ticket: "shopper S holds position P in event E" (lives until the event ends, so a refresh keeps it);
// - an admission token: "shopper S may order event E's products" (short-lived).
// The audience tells them apart: a ticket is never accepted as an admission token, nor the reverse.
import { createSecretKey } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';

const ISSUER = 'surge-waiting-room';
const TICKET_AUDIENCE = 'surge-waiting-room-ticket';
const ADMISSION_AUDIENCE = 'surge-admission';

export interface Ticket {
  shopperId: string;
  eventId: string;
  position: number;
}

export interface Admission {
  shopperId: string;
  eventId: string;
}

export interface WaitingRoomPasses {
  issueTicket(ticket: Ticket, expiresAtMs: number): Promise<string>;
  /** The ticket's claims, or undefined when it is not a valid ticket of this waiting room. */
  readTicket(ticket: string): Promise<Ticket | undefined>;
  issueAdmission(admission: Admission): Promise<{ admissionToken: string; expiresAt: string }>;
  /** The admission's claims, or undefined when it is invalid or expired. */
  readAdmission(token: string): Promise<Admission | undefined>;
}

export function createWaitingRoomPasses(key: string, admissionTtlSeconds: number, now: () => number = Date.now): WaitingRoomPasses {
  const secret = createSecretKey(Buffer.from(key, 'utf8'));
  const sign = (claims: Record<string, unknown>, subject: string, audience: string, expiresAtSeconds: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject)
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setIssuedAt(Math.floor(now() / 1000))
      .setExpirationTime(expiresAtSeconds)
      .sign(secret);
  const verify = async (token: string, audience: string) => {
    try {
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience,
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'sub'],
      });
      return typeof payload.evt === 'string' && typeof payload.sub === 'string' ? payload : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    issueTicket({ shopperId, eventId, position }, expiresAtMs) {
      return sign({ evt: eventId, pos: position }, shopperId, TICKET_AUDIENCE, Math.ceil(expiresAtMs / 1000));
    },
    async readTicket(token) {
      const payload = await verify(token, TICKET_AUDIENCE);
      if (!payload || !Number.isInteger(payload.pos)) return undefined;
      return { shopperId: payload.sub!, eventId: payload.evt as string, position: payload.pos as number };
    },
    async issueAdmission({ shopperId, eventId }) {
      const expiresAtSeconds = Math.floor(now() / 1000) + admissionTtlSeconds;
      const admissionToken = await sign({ evt: eventId }, shopperId, ADMISSION_AUDIENCE, expiresAtSeconds);
      return { admissionToken, expiresAt: new Date(expiresAtSeconds * 1000).toISOString() };
    },
    async readAdmission(token) {
      const payload = await verify(token, ADMISSION_AUDIENCE);
      return payload ? { shopperId: payload.sub!, eventId: payload.evt as string } : undefined;
    },
  };
}
