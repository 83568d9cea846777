// Imported first by every ops test: fake credentials and a region so the SDK never searches for
// real ones (profiles, instance metadata). Every client's send is mocked; nothing reaches AWS.
process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret-for-tests';
process.env.AWS_REGION = 'us-west-2';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
