import type { HostKeys, HostRedis } from './keys.js';

/** A conversation turn as `POST /turns` takes it. */
export interface Turn {
  orgId: string;
  workstreamId: string;
  turnId: string;
  text: string;
}

/** Why a body is not a turn; `field` names the offending field (or 'body'). */
export interface TurnError {
  field: keyof Turn | 'body';
  message: string;
}

const ID_FIELDS = ['orgId', 'workstreamId', 'turnId'] as const;
const MAX_ID_LENGTH = 128;
/** Longest turn text accepted (characters); job payloads are capped at 256 KiB by the queues. */
export const MAX_TEXT_LENGTH = 20_000;

/** Validates a request body; the first problem found is reported with its field. */
export function parseTurn(body: unknown): { turn: Turn } | { error: TurnError } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: { field: 'body', message: 'the body must be a JSON object { orgId, workstreamId, turnId, text }' } };
  }
  const b = body as Record<string, unknown>;
  for (const field of ID_FIELDS) {
    const v = b[field];
    if (typeof v !== 'string' || v.trim() === '') return { error: { field, message: `${field} must be a non-empty string` } };
    if (v.length > MAX_ID_LENGTH) return { error: { field, message: `${field} must be at most ${MAX_ID_LENGTH} characters` } };
    if (v !== v.trim()) return { error: { field, message: `${field} must not start or end with whitespace` } };
  }
  const text = b.text;
  if (typeof text !== 'string' || text.trim() === '') return { error: { field: 'text', message: 'text must be a non-empty string' } };
  if (text.length > MAX_TEXT_LENGTH) return { error: { field: 'text', message: `text must be at most ${MAX_TEXT_LENGTH} characters` } };
  return { turn: { orgId: b.orgId as string, workstreamId: b.workstreamId as string, turnId: b.turnId as string, text } };
}

/**
 * KEYS: turn-ids set, turns list. ARGV: turnId, turn JSON. Appends the turn unless its id was
 * already recorded (a client retrying a request must not record the turn twice).
 */
const RECORD_SCRIPT = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
`;

/** Appends the turn to its workstream's list; `false` when this turnId was already recorded. */
export async function recordTurn(redis: HostRedis, keys: HostKeys, turn: Turn): Promise<boolean> {
  const json = JSON.stringify({ turnId: turn.turnId, text: turn.text, receivedAt: new Date().toISOString() });
  const added = await redis.eval(RECORD_SCRIPT, 2, keys.turnIds(turn.orgId, turn.workstreamId), keys.turns(turn.orgId, turn.workstreamId), turn.turnId, json);
  return added === 1;
}
