// Request and response schemas of the user service: they validate input, type the handlers and
// feed the OpenAPI document. Unknown fields are rejected.
import { Type } from '@sinclair/typebox';

export const Email = Type.String({ format: 'email', maxLength: 254, description: 'Unique per account, case-insensitive' });

export const RegisterBody = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 8, maxLength: 128 }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);

export const Profile = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const Token = Type.Object({
  token: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
});

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
