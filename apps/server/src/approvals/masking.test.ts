// Masking (spec §3.7): explicit pointers, secret-looking keys and credential-looking values, as a
// table of inputs and the masked output expected for each.
import { describe, expect, it } from 'vitest';
import {
  CREDENTIAL_FORMATS,
  MASK,
  maskContext,
  maskCredentialsInText,
  redactCallbackUrl,
} from './masking.ts';

const M = '••••';

// Credential-looking values; each is fake but has the real shape.
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const SK_LIVE = 'sk-live-4f9a8b7c6d5e4f3a2b1c';
const XOXB = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx';
const GHP = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'; // ghp_ + 36 characters
const GITHUB_PAT = 'github_pat_11ABCDEFG0123456789_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK',
  '-----END RSA PRIVATE KEY-----',
].join('\n');

interface Case {
  name: string;
  input: Record<string, unknown>;
  pointers?: string[];
  expected: Record<string, unknown>;
}

const cases: Case[] = [
  // --- explicit pointers
  {
    name: 'explicit pointer to a top-level value (masked whole)',
    input: { table: 'users', destination: 's3://analytics/export' },
    pointers: ['/destination'],
    expected: { table: 'users', destination: M },
  },
  {
    name: 'explicit pointer to a nested value',
    input: { target: { bucket: 'analytics', region: 'eu-west-1' } },
    pointers: ['/target/bucket'],
    expected: { target: { bucket: M, region: 'eu-west-1' } },
  },
  {
    name: 'explicit pointer into an array',
    input: { hosts: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ids: [1, 2, 3] },
    pointers: ['/hosts/1/ip', '/ids/0'],
    expected: { hosts: [{ ip: '10.0.0.1' }, { ip: M }], ids: [M, 2, 3] },
  },
  {
    name: 'explicit pointer to an object or an array masks it whole',
    input: { target: { bucket: 'a', path: 'b' }, list: ['x', 'y'], keep: 1 },
    pointers: ['/target', '/list'],
    expected: { target: M, list: M, keep: 1 },
  },
  {
    name: 'pointer escapes: ~1 is "/", ~0 is "~"',
    input: { 'a/b': 'slash', 'm~n': 'tilde', a: { b: 'not this one' }, '~1': 'literal' },
    pointers: ['/a~1b', '/m~0n', '/~01'],
    expected: { 'a/b': M, 'm~n': M, a: { b: 'not this one' }, '~1': M },
  },
  {
    name: 'pointer to a number, boolean or null masks it too',
    input: { n: 42, b: false, z: null },
    pointers: ['/n', '/b', '/z'],
    expected: { n: M, b: M, z: M },
  },
  {
    name: 'pointer "/" names the member with the empty key',
    input: { '': 'empty key', other: 'x' },
    pointers: ['/'],
    expected: { '': M, other: 'x' },
  },
  {
    name: 'pointer to something absent changes nothing',
    input: { a: { b: 1 } },
    pointers: ['/missing', '/a/c', '/a/b/deeper'],
    expected: { a: { b: 1 } },
  },

  // --- secret-looking keys
  {
    name: 'password, secret, short values: masked whole',
    input: { password: 'hunter2', secret: 'abc', token: 'short-tok' },
    expected: { password: M, secret: M, token: M },
  },
  {
    name: 'long secrets keep their last 4 characters (spec example token)',
    input: { token: 'sk-live-abc123' },
    expected: { token: '••••c123' },
  },
  {
    name: 'apiKey, api_key, authorization, privateKey, client_secret, accessToken',
    input: {
      apiKey: 'AbCdEfGh12345678',
      api_key: 'abcdefghijklmnop',
      authorization: 'Bearer abcdefghijklmnopqrstu',
      privateKey: 'base64privatekeymaterialXYZW',
      client_secret: 'cs_1234567890abcdef',
      accessToken: 'at-abcdefghijk',
    },
    expected: {
      apiKey: '••••5678',
      api_key: '••••mnop',
      authorization: '••••rstu',
      privateKey: '••••XYZW',
      client_secret: '••••cdef',
      accessToken: '••••hijk',
    },
  },
  {
    name: 'secret-looking keys in any case and style',
    input: {
      PASSWORD: 'p',
      Api_Key: 'k',
      'x-api-key': 'k2',
      refresh_token: 'r',
      passwd: 'pw',
      clientSecret: 'c',
    },
    expected: { PASSWORD: M, Api_Key: M, 'x-api-key': M, refresh_token: M, passwd: M, clientSecret: M },
  },
  {
    name: 'prefixed secret keys: db_password, dbPassword, ssh_private_key, aws_secret_access_key',
    input: {
      db_password: 'x',
      dbPassword: 'abcdefghijklmnop',
      DB_PASSWORD: 'y',
      user_passphrase: 'z',
      ssh_private_key: 'k',
      aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      compass: 'north',
      bypass: 'yes',
    },
    expected: {
      db_password: M,
      dbPassword: '••••mnop',
      DB_PASSWORD: M,
      user_passphrase: M,
      ssh_private_key: M,
      aws_secret_access_key: '••••EKEY',
      compass: 'north',
      bypass: 'yes',
    },
  },
  {
    name: 'numbers under secret keys are masked',
    input: { pin: 1, secret: 123456789012345, token: 42 },
    expected: { pin: 1, secret: M, token: M },
  },
  {
    name: 'nested objects and arrays under secret keys are masked whole',
    input: {
      credentials: { user: 'svc', password: 'x' },
      secret: ['a', 'b'],
      config: { auth: { token: { value: 'tok', kind: 'bearer' } } },
    },
    expected: { credentials: M, secret: M, config: { auth: M } },
  },
  {
    name: 'secret keys deep inside objects and arrays',
    input: {
      steps: [
        { name: 'login', password: 'p4ss' },
        { name: 'fetch', headers: { authorization: 'Basic dXNlcjpwYXNz' } },
      ],
    },
    expected: {
      steps: [
        { name: 'login', password: M },
        { name: 'fetch', headers: { authorization: '••••YXNz' } },
      ],
    },
  },
  {
    name: 'null and boolean under secret keys stay (they reveal nothing)',
    input: { password: null, token: true, secret: false },
    expected: { password: null, token: true, secret: false },
  },

  // --- credential-looking values anywhere
  {
    name: 'a JWT under an innocent key',
    input: { note: JWT },
    expected: { note: M + JWT.slice(-4) },
  },
  {
    name: 'provider keys: sk-live-…, xoxb-…, ghp_… (36), github_pat_…, AWS access key id',
    input: { a: SK_LIVE, b: XOXB, c: GHP, d: GITHUB_PAT, e: AWS_KEY },
    expected: {
      a: M + SK_LIVE.slice(-4),
      b: M + XOXB.slice(-4),
      c: M + GHP.slice(-4),
      d: M + GITHUB_PAT.slice(-4),
      e: '••••MPLE',
    },
  },
  {
    name: 'credentials inside longer text: only the credential is masked',
    input: {
      cmd: `curl -H "Authorization: Bearer ${JWT}" https://api.example.com`,
      msg: `use ${AWS_KEY} now`,
    },
    expected: {
      cmd: `curl -H "Authorization: Bearer ${M}${JWT.slice(-4)}" https://api.example.com`,
      msg: 'use ••••MPLE now',
    },
  },
  {
    name: 'credentials in arrays and nested objects',
    input: { tokens: [GHP, 'plain'], deep: { deeper: [{ value: XOXB }] } },
    expected: { tokens: [M + GHP.slice(-4), 'plain'], deep: { deeper: [{ value: M + XOXB.slice(-4) }] } },
  },
  {
    name: 'a PEM private key block',
    input: { blob: PEM, withText: `key:\n${PEM}\nend` },
    expected: { blob: M + '----', withText: `key:\n${M}----\nend` },
  },
  {
    name: 'connection strings with passwords: only the password is masked',
    input: {
      db: 'postgres://user:pass@host/db',
      redis: 'redis://:s3cr3t@cache:6379/0',
      dsn: 'mysql://root:toor@10.0.0.5:3306/app',
      text: 'connect to postgresql://svc:Pa55w0rd@db.internal:5432/prod please',
    },
    expected: {
      db: 'postgres://user:••••@host/db',
      redis: 'redis://:••••@cache:6379/0',
      // "dsn" is itself a secret-looking key: the whole value goes.
      dsn: '••••/app',
      text: 'connect to postgresql://svc:••••@db.internal:5432/prod please',
    },
  },

  // --- innocent values
  {
    name: 'innocent values are untouched',
    input: {
      tokens: 3,
      tokenCount: 12,
      maxTokens: 4096,
      url: 'https://example.com/path?q=1',
      userUrl: 'https://user@example.com/x',
      portUrl: 'http://localhost:8080/health',
      rows: 120000,
      ratio: 0.25,
      enabled: true,
      disabled: false,
      nothing: null,
      list: [1, 'two', { three: 3 }],
      passwordPolicy: 'at least 12 characters',
      task: 'task-list-for-sk8ers',
      sha: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      empty: '',
    },
    expected: {
      tokens: 3,
      tokenCount: 12,
      maxTokens: 4096,
      url: 'https://example.com/path?q=1',
      userUrl: 'https://user@example.com/x',
      portUrl: 'http://localhost:8080/health',
      rows: 120000,
      ratio: 0.25,
      enabled: true,
      disabled: false,
      nothing: null,
      list: [1, 'two', { three: 3 }],
      passwordPolicy: 'at least 12 characters',
      task: 'task-list-for-sk8ers',
      sha: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      empty: '',
    },
  },
  {
    name: 'the spec §2 example with its sensitive pointer',
    input: { table: 'users', rows: 120000, destination: 's3://analytics/export', token: 'sk-live-abc123' },
    pointers: ['/destination'],
    expected: { table: 'users', rows: 120000, destination: M, token: '••••c123' },
  },
];

describe('maskContext', () => {
  it('MASK is the four-bullet mask', () => {
    expect(MASK).toBe(M);
  });

  it.each(cases)('$name', ({ input, pointers, expected }) => {
    expect(maskContext(input, pointers ?? [])).toEqual(expected);
  });

  it.each(cases)('does not modify its input: $name', ({ input, pointers }) => {
    const before = structuredClone(input);
    maskContext(input, pointers ?? []);
    expect(input).toEqual(before);
  });

  it('returns a copy, not the same objects', () => {
    const input = { nested: { a: 1 }, list: [{ b: 2 }] };
    const masked = maskContext(input, []);
    expect(masked).toEqual(input);
    expect(masked).not.toBe(input);
    expect(masked['nested']).not.toBe(input.nested);
    expect(masked['list']).not.toBe(input.list);
  });

  it('keeps the last 4 characters from 12 characters on, masks shorter secrets whole', () => {
    expect(maskContext({ token: 'abcdefghijk' }, [])).toEqual({ token: M }); // 11
    expect(maskContext({ token: 'abcdefghijkl' }, [])).toEqual({ token: '••••ijkl' }); // 12
  });

  it('no masked output contains the secrets it was given', () => {
    const secrets = [
      JWT,
      SK_LIVE,
      XOXB,
      GHP,
      GITHUB_PAT,
      AWS_KEY,
      'hunter2',
      'Pa55w0rd',
      PEM.split('\n')[1] ?? '',
    ];
    const masked = JSON.stringify(
      maskContext(
        {
          a: JWT,
          b: [SK_LIVE, { c: XOXB }],
          d: `${GHP} ${GITHUB_PAT}`,
          e: AWS_KEY,
          password: 'hunter2',
          url: 'postgresql://svc:Pa55w0rd@db/prod',
          pem: PEM,
        },
        [],
      ),
    );
    for (const secret of secrets) expect(masked).not.toContain(secret);
  });

  it('the root pointer "" (the whole context) masks every member and still returns an object', () => {
    const input = { a: 'x', b: { c: 1 }, n: null };
    expect(maskContext(input, [''])).toEqual({ a: M, b: M, n: M });
    expect(maskContext({}, [''])).toEqual({});
    expect(input).toEqual({ a: 'x', b: { c: 1 }, n: null });
  });
});

// One sample per credential format, each inside a sentence: [text, masked text].
const SLACK_WEBHOOK_PATH = 'T0ABCDEF1/B0ABCDEF2/AbCdEfGhIjKlMnOpQrStUvWx';
const SAMPLES: Record<string, [string, string]> = {
  'URL password': ['db is postgres://svc:Pa55w0rd@db:5432/prod', 'db is postgres://svc:••••@db:5432/prod'],
  'PEM private key': [`key ${PEM} end`, `key ${M}---- end`],
  'JSON Web Token': [`token ${JWT} here`, `token ${M}${JWT.slice(-4)} here`],
  'sk-/rk- secret key': [`use ${SK_LIVE}.`, `use ${M}${SK_LIVE.slice(-4)}.`],
  'Slack token (xoxb-, xoxp-, …)': [`bot ${XOXB}`, `bot ${M}${XOXB.slice(-4)}`],
  'Slack app-level token (xapp-)': [
    'socket mode xapp-1-A0ABCDEFGH1-1234567890123-abcdef0123456789abcdef0123456789 ok',
    'socket mode ••••6789 ok',
  ],
  'Slack incoming webhook URL': [
    `post to https://hooks.slack.com/services/${SLACK_WEBHOOK_PATH} now`,
    'post to https://hooks.slack.com/services/••••UvWx now',
  ],
  'GitHub token (ghp_, gho_, …)': [`gh ${GHP}`, `gh ${M}${GHP.slice(-4)}`],
  'GitHub fine-grained token': [`pat ${GITHUB_PAT}`, `pat ${M}${GITHUB_PAT.slice(-4)}`],
  'GitLab personal access token': ['gitlab glpat-AbCdEf0123456789xYz_ token', 'gitlab ••••xYz_ token'],
  'Google API key': ['maps AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q key', 'maps ••••5p6Q key'],
  'AWS access key id': [`aws ${AWS_KEY} id`, 'aws ••••MPLE id'],
  'AWS secret access key': [
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'aws_secret_access_key = ••••EKEY',
  ],
  'Bearer token': [
    'curl -H "Authorization: Bearer abc123def456ghi789" https://api',
    'curl -H "Authorization: Bearer ••••i789" https://api',
  ],
  'secret query parameter': [
    'see https://ci.example.com/hook?build=7&password=hunter2&token=tok_0123456789abcdef#top',
    'see https://ci.example.com/hook?build=7&password=••••&token=••••cdef#top',
  ],
};

describe('CREDENTIAL_FORMATS: one table, one sample per format', () => {
  it('has a sample for every format and no sample without a format', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(CREDENTIAL_FORMATS.map((f) => f.name).sort());
  });

  it.each(Object.entries(SAMPLES))('%s is masked inside free text', (_name, [text, masked]) => {
    expect(maskCredentialsInText(text)).toBe(masked);
  });

  it.each([
    'Bearer bonds were popular in 1920',
    'the bearer of bad news',
    'see https://example.com/path?q=1&page=2',
    'AIza is not a key on its own',
    'glpat-short',
    'https://hooks.slack.com/ is the host',
  ])('leaves ordinary text alone: %s', (text) => {
    expect(maskCredentialsInText(text)).toBe(text);
  });

  it('masks an AWS secret access key after its usual names in env, JSON and YAML text', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(maskCredentialsInText(`AWS_SECRET_ACCESS_KEY=${secret}\n`)).toBe(
      'AWS_SECRET_ACCESS_KEY=••••EKEY\n',
    );
    expect(maskCredentialsInText(`{"secretAccessKey": "${secret}"}`)).toBe('{"secretAccessKey": "••••EKEY"}');
    expect(maskCredentialsInText(`SecretAccessKey: '${secret}'`)).toBe("SecretAccessKey: '••••EKEY'");
    expect(maskCredentialsInText('secretAccessKey: not-forty-characters')).toBe(
      'secretAccessKey: not-forty-characters',
    );
    expect(maskContext({ aws_secret_access_key: secret, creds: { secretAccessKey: secret } }, [])).toEqual({
      aws_secret_access_key: '••••EKEY',
      creds: { secretAccessKey: '••••EKEY' },
    });
  });

  it('masks the same formats in context values', () => {
    const masked = maskContext({ note: SAMPLES['GitLab personal access token']?.[0] ?? '' }, []);
    expect(masked).toEqual({ note: SAMPLES['GitLab personal access token']?.[1] });
  });
});

describe('redactCallbackUrl', () => {
  it.each([
    ['https://ci.example.com/hooks/countersign', 'https://ci.example.com/hooks/countersign'],
    ['https://ci.example.com/hook?token=abc&build=7', 'https://ci.example.com/hook?token=••••&build=••••'],
    ['https://ci.example.com/hook?sig', 'https://ci.example.com/hook?sig=••••'],
    ['https://ci.example.com/hook#frag', 'https://ci.example.com/hook#••••'],
    ['http://10.0.0.1:8080/x?a=1', 'http://10.0.0.1:8080/x?a=••••'],
    // Shown as sent, not as the URL parser would normalise it.
    ['http://[::ffff:127.0.0.1]/x', 'http://[::ffff:127.0.0.1]/x'],
    ['HTTPS://Example.COM:443/a/../b?Token=x', 'HTTPS://Example.COM:443/a/../b?Token=••••'],
    [`https://hooks.slack.com/services/${SLACK_WEBHOOK_PATH}`, 'https://hooks.slack.com/services/••••UvWx'],
  ])('%s → %s', (url, shown) => {
    expect(redactCallbackUrl(url)).toBe(shown);
  });
});

describe('masking stays linear on adversarial text (a context string may be 32 KiB)', () => {
  const n = 32 * 1024;
  // Each took seconds before the patterns were bounded (URL password and query parameters were
  // quadratic: a match could start at every word boundary, or backtrack through a nested repeat).
  it.each([
    ['dotted words', 'a.'.repeat(n / 2)],
    ['dashed words before a colon', 'a-'.repeat(n / 2) + ':'],
    ['a query name that never ends', '?' + 'a-'.repeat(n / 2) + 'secret'],
    ['a query name of repeated "token"', '?' + 'token'.repeat(n / 5)],
    ['JWT starts', 'eyJ-'.repeat(n / 4)],
    ['URL schemes', 'a://b:'.repeat(n / 6)],
    ['Bearer without a digit', 'Bearer ' + 'a'.repeat(n)],
    ['Slack token starts', 'xoxb-'.repeat(n / 5)],
  ])('%s', (_name, text) => {
    const started = performance.now();
    maskCredentialsInText(text);
    maskContext({ [text.slice(0, 4096)]: text }, []);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
