// jest setupFiles of the infra tests: turns off aws-cdk-lib's built-in CloudFormation validation
// (CDK_VALIDATION=false), which checks every synthesized template against CloudFormation's rules. Its
// wasm engine starts once per test file and that start costs about 9 s of CPU, more than most infra
// files need for everything else, and it checks templates, not the behaviour these files assert.
// test/stack/template-validation.test.ts turns it back on and runs it on the apps `cdk synth` builds.
// Jest gives each test file its own copy of process.env, so nothing leaks between files.
process.env.CDK_VALIDATION = 'false';
