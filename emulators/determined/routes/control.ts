// Emulator-only control routes (no auth, not part of Determined): run outcomes and sized checkpoints.
import crypto from 'node:crypto';
import path from 'node:path';
import yaml from 'js-yaml';
import type { Router } from '../../common/router';
import { HttpError } from '../../common/router';
import { readJson, sendJson } from '../../common/body';
import type { MasterContext } from '../context';
import { OUTCOMES, type CheckpointRecord, type OutcomeRule } from '../store';
import { createExperiment } from './experiments';
import { listResources, storageLocation, writeSizedFile } from '../storage';

function controlError(message: string): HttpError {
  return new HttpError(400, { message });
}

export function validateOutcomeRules(rules: unknown): OutcomeRule[] {
  if (!Array.isArray(rules)) throw controlError('rules must be an array of {name?, label?, outcome, checkpointBytes?, times?}');
  return rules.map((r: unknown, i) => {
    const rule = (r ?? {}) as Partial<OutcomeRule>;
    if (!OUTCOMES.includes(rule.outcome as OutcomeRule['outcome'])) throw controlError(`rules[${i}].outcome must be one of ${OUTCOMES.join(', ')}`);
    for (const key of ['name', 'label'] as const) {
      if (rule[key] === undefined) continue;
      if (typeof rule[key] !== 'string') throw controlError(`rules[${i}].${key} must be a regular expression string`);
      try {
        new RegExp(rule[key] as string);
      } catch (err) {
        throw controlError(`rules[${i}].${key}: ${(err as Error).message}`);
      }
    }
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1)) throw controlError(`rules[${i}].times must be a positive integer`);
    if (rule.checkpointBytes !== undefined && (!Number.isInteger(rule.checkpointBytes) || rule.checkpointBytes < 0 || rule.outcome !== 'COMPLETED')) {
      throw controlError(`rules[${i}].checkpointBytes must be a non-negative integer, on a COMPLETED rule`);
    }
    return { name: rule.name, label: rule.label, outcome: rule.outcome as OutcomeRule['outcome'], checkpointBytes: rule.checkpointBytes, times: rule.times, used: 0 };
  });
}

interface SizedCheckpointRequest {
  sizeBytes?: number;
  files?: Record<string, number>;
  name?: string;
  labels?: string[];
  metric?: number;
}

export function addControlRoutes(router: Router, master: MasterContext): void {
  const { store, runs } = master;

  router.get('/__emulator/outcomes', (ctx) => sendJson(ctx.res, 200, { rules: store.state.outcomes }));
  router.put('/__emulator/outcomes', async (ctx) => {
    const body = await readJson<{ rules?: unknown }>(ctx.req, controlError);
    store.state.outcomes = validateOutcomeRules(body.rules);
    store.save();
    runs.outcomesChanged();
    sendJson(ctx.res, 200, { rules: store.state.outcomes });
  });

  // Makes a COMPLETED experiment with one checkpoint of the requested size (benchmarks, download tests).
  router.post('/__emulator/checkpoints', async (ctx) => {
    const body = await readJson<SizedCheckpointRequest>(ctx.req, controlError);
    let files: Record<string, number>;
    if (body.files !== undefined) {
      if (typeof body.files !== 'object' || body.files === null || Array.isArray(body.files)) throw controlError('files must be an object {path: sizeBytes}');
      files = body.files;
    } else {
      if (!Number.isInteger(body.sizeBytes) || (body.sizeBytes as number) < 0) throw controlError('sizeBytes must be a non-negative integer (or give files)');
      files = { 'model.bin': body.sizeBytes as number };
    }
    for (const [rel, size] of Object.entries(files)) {
      if (!rel || rel.split('/').includes('..') || rel.startsWith('/')) throw controlError(`invalid file path ${JSON.stringify(rel)}`);
      if (!Number.isInteger(size) || size < 0) throw controlError(`files[${rel}] must be a non-negative integer size`);
    }
    const name = body.name ?? `sized-checkpoint-${crypto.randomBytes(3).toString('hex')}`;
    const config = {
      name,
      entrypoint: 'python3 train.py',
      labels: body.labels ?? [],
      searcher: { name: 'single', metric: 'validation_loss', smaller_is_better: true, max_length: { batches: 1 } },
    };
    const user = store.state.users.find((u) => u.admin) ?? store.state.users[0];
    const created = createExperiment(master, { config: yaml.dump(config), activate: false }, user);
    const exp = store.experiment((created.experiment as { id: number }).id);
    if (!exp) throw new Error('experiment vanished');
    const trial = store.trial(exp.trialIds[0]);
    if (!trial) throw new Error('trial vanished');
    const uuid = crypto.randomUUID();
    const location = storageLocation(store.stateDir, exp.config.checkpoint_storage as Record<string, unknown>);
    const dir = path.join(location.root, uuid);
    let seed = 1;
    for (const [rel, size] of Object.entries(files)) await writeSizedFile(path.join(dir, rel), size, seed++);
    const metric = typeof body.metric === 'number' ? body.metric : 0.1;
    const now = new Date().toISOString();
    const checkpoint: CheckpointRecord = {
      uuid,
      taskId: trial.taskId,
      allocationId: `${trial.taskId}.0`,
      reportTime: now,
      resources: listResources(dir),
      metadata: { determined_version: '0.38.1', steps_completed: 1, generation: 0 },
      state: 'STATE_COMPLETED',
      trialId: trial.id,
      experimentId: exp.id,
      trainingMetrics: { loss: metric },
      validationMetrics: { validation_loss: metric },
      searcherMetric: metric,
      dir: path.relative(store.stateDir, dir),
      storageType: location.type,
    };
    store.state.checkpoints.push(checkpoint);
    trial.checkpointUuids.push(uuid);
    trial.validationMetrics.push({ steps: 1, metrics: { validation_loss: metric }, time: now });
    trial.state = 'STATE_COMPLETED';
    trial.endTime = now;
    exp.state = 'STATE_COMPLETED';
    exp.endTime = now;
    store.save();
    sendJson(ctx.res, 200, { experimentId: exp.id, trialId: trial.id, checkpointUuid: uuid, resources: checkpoint.resources });
  });
}
