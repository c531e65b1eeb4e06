import { describe, expect, it } from 'vitest';
import { closest } from '../../common/text.js';

describe('did you mean (pure)', () => {
  it('finds a close candidate: a letter missing, extra, wrong or two swapped', () => {
    const c = ['limit', 'inventory', 'bridgeMappings', 'batch'];
    expect(closest('limt', c)).toBe('limit');
    expect(closest('limmit', c)).toBe('limit');
    expect(closest('lmiit', c)).toBe('limit');
    expect(closest('bridgeMapping', c)).toBe('bridgeMappings');
    expect(closest('BATCH', c)).toBe('batch');
  });

  it('says nothing when nothing is close', () => {
    expect(closest('zzz', ['limit', 'batch'])).toBeUndefined();
    expect(closest('x', ['yes'])).toBeUndefined();
    expect(closest('a'.repeat(100), ['a'])).toBeUndefined();
  });
});
