// WAF readiness: the CloudFront web ACL still has its per-IP rate-based rule, blocking at the
// configured limit. Read live from WAFv2 (not from the template) so a console edit made since the
// last deploy shows up.
import { GetWebACLCommand, type Rule } from '@aws-sdk/client-wafv2';
import { StackOutputs } from '../../lib/stack/outputs';
import { awsCall, OpsError } from '../aws/errors';
import { result, type CheckContext, type CheckGroup, type CheckResult } from './check';

export const firewallChecks: CheckGroup = {
  name: 'firewall',
  async run(context: CheckContext): Promise<CheckResult[]> {
    const acl = parseWebAclArn(context.outputs.get(StackOutputs.webAclArn));
    const response = await awsCall('wafv2:GetWebACL', () =>
      context.clients.wafGlobal.send(new GetWebACLCommand({ Name: acl.name, Id: acl.id, Scope: acl.scope })),
    );
    const { rateLimit, evaluationWindowSeconds } = context.expectations.firewall;
    const expected = `rate-based rule, ${rateLimit} per ${evaluationWindowSeconds} s, Block`;
    const rule = (response.WebACL?.Rules ?? []).find((r) => r.Statement?.RateBasedStatement !== undefined);
    if (rule === undefined) {
      return [result('waf rate rule', expected, `no rate-based rule in ${acl.name}`, false)];
    }
    const statement = rule.Statement!.RateBasedStatement!;
    // WAF's default window is five minutes when the rule does not set one.
    const window = statement.EvaluationWindowSec ?? 300;
    const action = actionOf(rule);
    return [
      result(
        'waf rate rule',
        expected,
        `${rule.Name}: ${statement.Limit ?? 'unset'} per ${window} s, ${action}`,
        statement.Limit === rateLimit && window === evaluationWindowSeconds && action === 'Block',
      ),
    ];
  },
};

function actionOf(rule: Rule): string {
  const action = rule.Action ?? {};
  if (action.Block) return 'Block';
  if (action.Count) return 'Count';
  if (action.Allow) return 'Allow';
  if (action.Captcha) return 'Captcha';
  if (action.Challenge) return 'Challenge';
  return 'none';
}

export interface WebAclLocation {
  readonly name: string;
  readonly id: string;
  readonly scope: 'CLOUDFRONT' | 'REGIONAL';
}

/** Splits arn:aws:wafv2:<region>:<account>:<global|regional>/webacl/<name>/<id> into GetWebACL's inputs. */
export function parseWebAclArn(arn: string): WebAclLocation {
  const match = /^arn:[^:]+:wafv2:[^:]*:[^:]*:(global|regional)\/webacl\/([^/]+)\/([^/]+)$/.exec(arn);
  if (match === null) throw new OpsError(`not a WAFv2 web ACL ARN: ${arn}`);
  return { scope: match[1] === 'global' ? 'CLOUDFRONT' : 'REGIONAL', name: match[2], id: match[3] };
}
