/**
 * The compatibility harness itself: a comparison must be able to fail. Each check breaks a
 * transcript on purpose and expects the assertion to catch it.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { compare, OURS, runScenario, TEST_TIMEOUT, WS } from './harness.js';
import { expectSame, expectSameOrRefused } from './expect-same.js';
import { selfSignedCert } from './tls-cert.js';

vi.setConfig({ testTimeout: TEST_TIMEOUT });

describe('compat harness', () => {
  it('a behaviour that differs between the implementations fails expectSame', async () => {
    const r = await compare(async (ctx) => {
      ctx.t.add('client', 'first');
      ctx.t.add('client', 'implementation', ctx.impl.name);
    });
    expect(r.ws).toEqual(['client first', 'client implementation ["ws"]']);
    expect(() => expectSame(r)).toThrow();
  });

  it('an empty or trivial ws transcript fails expectSame, even when ours is equal', async () => {
    const r = await compare(async () => {});
    expect(r.ws).toEqual([]);
    expect(() => expectSame(r)).toThrow(/observes nothing/);
  });

  it('a scenario that timed out against ws fails expectSame', async () => {
    const r = await compare(async (ctx) => {
      ctx.t.add('client', 'before');
      await ctx.t.until(() => false, 'never', 50);
    });
    expect(r.ws).toContain('harness timeout ["never"]');
    expect(() => expectSame(r)).toThrow(/timed out/);
  });

  it('our error code is ignored only where ws has none; a different message or class still fails', async () => {
    const mk = (impl: string, code: string | undefined, message = 'boom'): Error => {
      const err = new Error(message) as Error & { code?: string };
      if (code !== undefined && impl === 'ws6455') err.code = code;
      return err;
    };
    const same = await compare(async (ctx) => {
      ctx.t.add('client', 'error', mk(ctx.impl.name, 'WS_ERR_X'));
      ctx.t.add('client', 'again', mk(ctx.impl.name, undefined));
    });
    expect(same.ours).toEqual(same.ws);
    const otherMessage = await compare(async (ctx) => {
      ctx.t.add('client', 'error', mk(ctx.impl.name, 'WS_ERR_X', ctx.impl.name));
      ctx.t.add('client', 'x');
    });
    expect(() => expectSame(otherMessage)).toThrow();
    const otherClass = await compare(async (ctx) => {
      ctx.t.add('client', 'error', ctx.impl.name === 'ws' ? new SyntaxError('m') : new Error('m'));
      ctx.t.add('client', 'x');
    });
    expect(() => expectSame(otherClass)).toThrow();
  });

  it('a scenario that hangs is cut at its limit and says so', async () => {
    const started = Date.now();
    const entries = await runScenario(WS, () => new Promise(() => {}), 100);
    expect(entries.map((e) => e.event)).toEqual(['scenario limit']);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('expectSameOrRefused: a refusal must name the option; silence fails', async () => {
    const refused = await compare(async (ctx) => {
      ctx.t.add('client', 'start');
      if (ctx.impl === OURS) ctx.t.add('client', 'refused', new TypeError('Unsupported option: fancyOption'));
      else ctx.t.add('client', 'honoured');
    });
    expect(() => expectSameOrRefused(refused, 'fancyOption')).not.toThrow();
    expect(() => expectSameOrRefused(refused, 'otherOption')).toThrow();
    const ignored = await compare(async (ctx) => {
      ctx.t.add('client', 'start');
      ctx.t.add('client', ctx.impl === OURS ? 'ignored' : 'honoured');
    });
    expect(() => expectSameOrRefused(ignored, 'fancyOption')).toThrow();
  });

  it('the test certificate is a valid self-signed X.509 certificate for 127.0.0.1', () => {
    const cert = new X509Certificate(selfSignedCert().cert);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
  });
});
