// The example experiment's const.yaml against Determined's expconf JSON Schemas (the real v0 schemas,
// through the Determined emulator's validator): as shipped, as the workflow fills it, and as continued.
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { ExpconfValidator } from '@continuous-training/emulators/determined/expconf';

const CONFIG = path.resolve(__dirname, '../../experiments/shapes/const.yaml');
type Config = Record<string, Record<string, unknown>>;

describe('experiments/shapes/const.yaml', () => {
  const validator = new ExpconfValidator();
  const load = () => yaml.load(fs.readFileSync(CONFIG, 'utf8')) as Config;

  it('passes the master submission check as shipped, with data.pachyderm left empty', () => {
    const config = load();
    expect(validator.sanityErrors(config)).toEqual([]);
    expect(config.data.pachyderm).toEqual({ host: '', port: '', project: '', repo: '', branch: '', commit: '', base_commit: '', exclude: [], token: '' });
    expect(config.searcher).toMatchObject({ name: 'single', metric: 'accuracy', smaller_is_better: false, max_length: { batches: expect.any(Number) } });
    expect(config).toMatchObject({ entrypoint: 'python3 train.py', max_restarts: 0, resources: { slots_per_trial: 1 } });
  });

  it('stays valid when the workflow fills it in and continues from a checkpoint, and is complete with a storage', () => {
    const config = load();
    config.data.pachyderm = { host: 'http://pachd:1659', port: '', project: 'default', repo: 'shapes', branch: '', commit: 'a'.repeat(32), base_commit: 'b'.repeat(32), token: 't' };
    config.searcher.source_checkpoint_uuid = '7c9d1c1e-0000-4000-8000-000000000000';
    (config as Record<string, unknown>).labels = ['shapes', 'a'.repeat(32)];
    expect(validator.sanityErrors(config)).toEqual([]);
    // Before its completeness check the master adds what the cluster decides: storage, default image, seed.
    const expanded = validator.withDefaults({
      ...config,
      checkpoint_storage: { type: 'shared_fs', host_path: '/tmp/checkpoints' },
      environment: { image: 'determinedai/environments:py-3.10' },
      reproducibility: { experiment_seed: 1 },
    });
    expect(validator.completenessErrors(expanded)).toEqual([]);
  });

  it('is checked for real (a broken searcher is rejected)', () => {
    const config = load();
    config.searcher.metric = 42;
    expect(validator.sanityErrors(config).length).toBeGreaterThan(0);
  });
});
