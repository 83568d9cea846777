// A sale event's waiting room: join the queue (a refresh keeps the same ticket), see the position,
// the people ahead and the estimated wait (polling the briefly cached room state), and once admitted
// take the admission token to checkout.
import { ApiError } from '../api';
import { h } from '../dom';
import { session } from '../session';
import { errorBox, say, type View } from '../view';
import { admissionToken, admit, estimatedWaitSeconds, joinQueue, roomState, type Ticket } from '../waiting-room';

const POLL_MS = 1000;

export const waitingRoomView: View = async (view) => {
  const eventId = decodeURIComponent(view.parts[1] ?? '');
  if (!session.token()) {
    view.render('Waiting room', h('p', {}, h('a', { href: `#/login?next=${encodeURIComponent(location.hash)}` }, 'Log in'), ' to join the waiting room.'));
    return;
  }
  const place = h('p', { role: 'status', class: 'queue', 'aria-live': 'polite' }, 'Joining the queue…');
  const messages = h('div', { 'aria-live': 'assertive' });
  view.render('Waiting room', place, messages);
  if (admissionToken(eventId)) return showAdmitted();

  let ticket: Ticket;
  try {
    ticket = await joinQueue(eventId);
  } catch (err) {
    say(messages, errorBox(err));
    place.textContent = '';
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  view.onLeave(() => clearTimeout(timer));
  await poll();

  async function poll(): Promise<void> {
    try {
      const room = await roomState(eventId);
      if (view.left()) return;
      if (ticket.position <= room.admittedThrough) {
        await admit(eventId, ticket.ticket);
        if (!view.left()) showAdmitted();
        return;
      }
      const ahead = ticket.position - room.admittedThrough;
      const wait = estimatedWaitSeconds(ticket.position, room);
      place.replaceChildren(
        h('span', { class: 'position', 'data-position': ticket.position }, `You are number ${ticket.position} in the queue.`),
        ` ${ahead} ${ahead === 1 ? 'shopper is' : 'shoppers are'} ahead of you; estimated wait ${formatWait(wait)}. Keep this page open: you keep your place if you reload it.`,
      );
      say(messages);
    } catch (err) {
      // Not admitted yet (the room moved back between the two reads): just keep waiting.
      if (!(err instanceof ApiError && err.code === 'not_admitted_yet')) say(messages, errorBox(err));
    }
    if (!view.left()) timer = setTimeout(poll, POLL_MS);
  }

  function showAdmitted(): void {
    place.replaceChildren(h('strong', { class: 'admitted' }, 'It is your turn!'), ' You can now buy the sale’s products. ', h('a', { href: '#/cart' }, 'Go to your cart'));
  }
};

function formatWait(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown (the queue is paused)';
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s`;
  return `about ${Math.round(seconds / 60)} min`;
}
