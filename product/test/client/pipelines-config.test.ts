import fs from 'node:fs';
import path from 'node:path';
import { parsePipelinesConfig, loadPipelinesConfig, PipelinesConfigError } from '../../client/pipelines-config';
import { deploymentQueueWorkflowId, deploymentWorkflowId, repositoryWorkflowId, trainingWorkflowId } from '../../common/ids';

const example = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'config', 'pipelines.example.yaml'), 'utf8');

function problemsOf(text: string): string[] {
  try {
    parsePipelinesConfig(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PipelinesConfigError);
    return (err as PipelinesConfigError).problems;
  }
  throw new Error('expected the config to be rejected');
}

test('the example config is valid and complete', () => {
  const [p] = parsePipelinesConfig(example);
  expect(p).toMatchObject({
    name: 'shapes',
    input: { project: 'default', repo: 'shapes', branch: 'master' },
    modelName: 'shapes',
    output: { repo: 'shapes-model' },
    deployment: { name: 'shapes-deploy', namespace: 'seldon', strategy: 'replace', readyTimeout: '10m', promotionGate: false },
    training: { mode: 'coalesce', pollInterval: '5s', timeout: '24h' },
  });
  expect(p.deployment.drift).toMatchObject({ storageUri: 'gs://your-bucket/seldon/drift_detector', batchSize: 4, protocol: 'seldon.http', httpPort: '8080', userPermission: 8888 });
});

test('defaults fill what a minimal pipeline leaves out', () => {
  const [p] = parsePipelinesConfig(`
pipelines:
  - name: m
    input: { repo: data }
    experiment: { gitUrl: /tmp/x }
    output: { repo: data-model }
    deployment: { name: m-deploy, servingImage: img, credentialsSecret: creds }
`);
  expect(p.modelName).toBe('m');
  expect(p.input).toEqual({ project: 'default', repo: 'data', branch: 'master' });
  expect(p.experiment).toEqual({ gitUrl: '/tmp/x', ref: 'main', path: '.', configFile: 'const.yaml' });
  expect(p.deployment.drift).toBeNull();
  expect(p.training.mode).toBe('coalesce');
});

test('one error names every bad or missing field by its path', () => {
  const problems = problemsOf(`
pipelines:
  - name: "bad name!"
    input: { repo: data, branch: 7 }
    experiment: {}
    output: { repo: data }
    deployment: { name: Bad_Name, servingImage: img, strategy: sideways, readyTimeout: soon, replicas: 0, colour: blue }
    training: { mode: sometimes }
`);
  expect(problems).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^\$\.pipelines\[0\]\.name: "bad name!" does not match/),
      '$.pipelines[0].input.branch: must be a string',
      '$.pipelines[0].experiment.gitUrl: required',
      expect.stringMatching(/^\$\.pipelines\[0\]\.deployment\.name: "Bad_Name" does not match/),
      '$.pipelines[0].deployment.credentialsSecret: required',
      '$.pipelines[0].deployment.strategy: must be one of replace, delete-first',
      expect.stringMatching(/^\$\.pipelines\[0\]\.deployment\.readyTimeout: "soon" is not a duration/),
      '$.pipelines[0].deployment.replicas: must be an integer >= 1',
      expect.stringMatching(/^\$\.pipelines\[0\]\.deployment\.colour: unknown field/),
      '$.pipelines[0].training.mode: must be one of coalesce, per-commit',
      expect.stringMatching(/^\$\.pipelines\[0\]\.output: must differ from the input repo/),
    ]),
  );
});

test('duplicate pipelines are refused', () => {
  const doc = parsePipelinesConfig(example);
  expect(doc).toHaveLength(1);
  const twice = example.replace('pipelines:\n', 'pipelines:\n') + example.split('pipelines:\n')[1];
  const problems = problemsOf(twice);
  expect(problems).toEqual(expect.arrayContaining(['$.pipelines[1]: same name as $.pipelines[0]', '$.pipelines[1]: same deployment (deployer workflow) as $.pipelines[0]']));
});

test('pipelines whose names joined with "-" would coincide get workflow ids of their own (issue 19)', () => {
  const [one] = parsePipelinesConfig(example);
  const a = { ...one, input: { ...one.input, repo: 'img-a', branch: 'master' }, deployment: { ...one.deployment, namespace: 'team-a', name: 'x' } };
  const b = { ...one, input: { ...one.input, repo: 'img', branch: 'a-master' }, deployment: { ...one.deployment, namespace: 'team', name: 'a-x' } };
  expect(repositoryWorkflowId(a.input)).not.toBe(repositoryWorkflowId(b.input));
  expect(deploymentQueueWorkflowId(a.deployment.namespace, a.deployment.name)).not.toBe(deploymentQueueWorkflowId(b.deployment.namespace, b.deployment.name));
  expect(trainingWorkflowId('m-a', 'c')).not.toBe(trainingWorkflowId('m', 'a-c'));
  expect(trainingWorkflowId('my model', 'c')).not.toBe(trainingWorkflowId('my_model', 'c'));
  expect(deploymentWorkflowId('team-a', 'x', 'c')).not.toBe(deploymentWorkflowId('team', 'a-x', 'c'));
  // Ids joined with "-" (as they were) coincide: the check above can fail.
  const joined = (...parts: string[]) => parts.join('-');
  expect(joined(a.input.repo, a.input.branch)).toBe(joined(b.input.repo, b.input.branch));
  expect(joined('team-a', 'x')).toBe(joined('team', 'a-x'));
  // Usual names stay readable.
  expect(repositoryWorkflowId(a.input)).toBe('ct-repo-default/img-a@master');
  expect(repositoryWorkflowId({ ...a.input, repo: 'a/b@c%' })).toBe('ct-repo-default/a%2Fb%40c%25@master');
});

test('two pipelines that would share a repository or deployer workflow are refused', () => {
  const body = example.split('pipelines:\n')[1];
  const twice = `pipelines:\n${body}${body.replace(/name: (\S+)\n/, 'name: $1-second\n').replace(/repo: (\S+)-model/, 'repo: other-model')}`;
  const problems = problemsOf(twice);
  expect(problems).toContain('$.pipelines[1]: same input repo and branch (repository workflow) as $.pipelines[0]');
  expect(problems).toContain('$.pipelines[1]: same deployment (deployer workflow) as $.pipelines[0]');
  expect(problems).not.toContain('$.pipelines[1]: same name as $.pipelines[0]');
});

test('malformed YAML, an empty document and a missing file get clear errors', () => {
  expect(problemsOf('pipelines: [ {')[0]).toMatch(/^not valid YAML: /);
  expect(problemsOf('')).toEqual(['$: required', '$.pipelines: must be a non-empty list']);
  expect(problemsOf('pipelines: []')).toEqual(['$.pipelines: must be a non-empty list']);
  expect(() => loadPipelinesConfig('/nonexistent/pipelines.yaml')).toThrow(/invalid pipelines config \/nonexistent\/pipelines.yaml: cannot read: ENOENT/);
});

test('an all-digit model name is refused, as Determined refuses it; also when it comes from the pipeline name', () => {
  const pipeline = (extra: string) => `
pipelines:
  - name: "2024"
    input: { repo: data }
    experiment: { gitUrl: /tmp/x }
    output: { repo: data-model }
    deployment: { name: m-deploy, servingImage: img, credentialsSecret: creds }
${extra}`;
  const refused = '$.pipelines[0].modelName: "2024" is only digits, which Determined refuses as a model name: set another modelName';
  expect(problemsOf(pipeline(''))).toEqual([refused]);
  expect(problemsOf(pipeline('    modelName: "2024"'))).toEqual([refused]);
  expect(parsePipelinesConfig(pipeline('    modelName: model-2024'))[0]).toMatchObject({ name: '2024', modelName: 'model-2024' });
});
