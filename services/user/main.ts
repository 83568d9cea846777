// Entry point of the user service on its fleet.
import { runService } from '../platform/server';
import { userRoutes } from './routes';

void runService({ name: 'user', plugins: [userRoutes] });
