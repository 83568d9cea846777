// Request and response schemas of the user service: they validate input, type the handlers and
// feed the OpenAPI document. Unknown fields are rejected.
import { Type } from '@sinclair/typebox';
import { errorResponse } from '../platform/openapi';

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

export const registerSchema = {
  operationId: 'registerUser',
  summary: 'Create an account',
  tags: ['users'],
  body: RegisterBody,
  response: {
    201: Type.Object(Profile.properties, { description: 'The new account' }),
    409: errorResponse('An account with this email already exists'),
  },
};

export const logInSchema = {
  operationId: 'logIn',
  summary: 'Exchange email and password for an access token',
  tags: ['users'],
  body: LoginBody,
  response: {
    200: Type.Object(Token.properties, { description: 'A Bearer access token and when it expires' }),
    401: errorResponse('Email or password is incorrect (the same answer for an unknown email)'),
  },
};

export const getMyProfileSchema = {
  operationId: 'getMyProfile',
  summary: "The caller's own account",
  tags: ['users'],
  response: {
    200: Type.Object(Profile.properties, { description: "The caller's account" }),
    404: errorResponse('The account of this token no longer exists'),
  },
};
