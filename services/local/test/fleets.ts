// The route sets each fleet serves, as its entry point registers them (services/*/main.ts), plus
// `npm start`'s all-in-one app: each generates its own /openapi.json, and the contract tests check
// every one of them.
import type { ServicePlugin } from '../../platform/app';
import { orderRoutes } from '../../order/routes';
import { paymentRoutes } from '../../payment/routes';
import { userRoutes } from '../../user/routes';

export const FLEETS: ReadonlyArray<readonly [name: string, plugins: ServicePlugin[]]> = [
  ['user', [userRoutes]],
  ['order', [orderRoutes]],
  ['payment', [paymentRoutes]],
  ['local', [userRoutes, orderRoutes, paymentRoutes]],
];
