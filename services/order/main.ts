// Production entry point of the order service (the `order` fleet behind /api/orders* and
// /api/products*). Its queue workers run on the worker fleet (services/worker/main.ts).
import { runService } from '../platform/server';
import { orderRoutes } from './routes';

void runService({ name: 'order', plugins: [orderRoutes] });
