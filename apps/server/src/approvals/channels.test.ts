import { describe, expect, it } from 'vitest';
import { formatChannel, parseChannel, teamsConversationKey } from './channels.ts';

describe('channel strings', () => {
  it('parses Slack and Teams channels', () => {
    expect(parseChannel('slack:C0123ABCD')).toEqual({ platform: 'slack', id: 'C0123ABCD' });
    expect(parseChannel('teams:19:abc@thread.tacv2')).toEqual({
      platform: 'teams',
      id: '19:abc@thread.tacv2',
    });
    expect(parseChannel('teams:a:1xyzPersonal')).toEqual({ platform: 'teams', id: 'a:1xyzPersonal' });
  });

  it('names the same Teams channel with or without a ;messageid= suffix', () => {
    expect(parseChannel('teams:19:abc@thread.tacv2;messageid=1700000000000')).toEqual({
      platform: 'teams',
      id: '19:abc@thread.tacv2',
    });
    expect(teamsConversationKey('19:abc@thread.tacv2;messageid=17')).toBe('19:abc@thread.tacv2');
    expect(teamsConversationKey('19:abc@thread.tacv2')).toBe('19:abc@thread.tacv2');
  });

  it('matches a channel configured with the ;messageid= marker in another letter case', () => {
    // Policy files and API callers copy the id from wherever Teams showed it; the marker's case varies.
    for (const configured of [
      'teams:19:abc@thread.tacv2;MessageId=1700000000000',
      'teams:19:abc@thread.tacv2;MESSAGEID=1700000000000',
    ]) {
      expect(parseChannel(configured), configured).toEqual({ platform: 'teams', id: '19:abc@thread.tacv2' });
    }
    expect(teamsConversationKey('19:abc@thread.tacv2;messageId=17')).toBe('19:abc@thread.tacv2');
    // Only the marker: the id itself keeps its case, as Teams issued it.
    expect(parseChannel('teams:a:1xyzPersonal;MessageId=5')).toEqual({
      platform: 'teams',
      id: 'a:1xyzPersonal',
    });
  });

  it('refuses unknown platforms and malformed ids', () => {
    for (const bad of ['', 'slack', 'slack:', 'discord:C1', 'slack:C 1', 'teams:', 'teams:nocolon', ':C1']) {
      expect(parseChannel(bad), bad).toBeNull();
    }
  });

  it('formats what it parses', () => {
    expect(formatChannel({ platform: 'teams', id: '19:abc@thread.tacv2' })).toBe('teams:19:abc@thread.tacv2');
  });
});
