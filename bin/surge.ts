#!/usr/bin/env node
// CDK entry point: `npx cdk synth -c env=dev|prod`. All composition lives in lib/app.ts.
import { createApp } from '../lib/app';

createApp({}, { defaultAccount: process.env.CDK_DEFAULT_ACCOUNT });
