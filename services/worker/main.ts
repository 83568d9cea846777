// Entry point of the worker fleet: the payment worker (order-placed consumer + payment outbox relay)
// and the order worker (payment-result consumer + order outbox relay). It serves only the health
// routes on PORT, so the Auto Scaling group can health-check it, and drains on SIGTERM like the APIs.
import { startOrderWorkers } from '../order/worker';
import { startPaymentWorkers } from '../payment/worker';
import { runService } from '../platform/server';

void runService({ name: 'worker', plugins: [], workers: [startPaymentWorkers, startOrderWorkers] });
