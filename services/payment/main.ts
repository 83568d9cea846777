// Production entry point of the payment service's HTTP API (the `payment` fleet behind
// /api/payments*). The payment worker itself runs on the worker fleet (services/worker/main.ts).
import { runService } from '../platform/server';
import { paymentRoutes } from './routes';

void runService({ name: 'payment', plugins: [paymentRoutes] });
