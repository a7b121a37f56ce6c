import { describe, expect, it } from 'vitest';
import { buildBatchScript, isActiveState, parseSacctOutput, parseSbatchOutput, shellQuote } from './slurm.js';

describe('buildBatchScript', () => {
  const env = { FERRY_FILE_SHA256: 'abc', FERRY_FILE_RELPATH: "it's/a run.raw" };

  it('puts the exports after the shebang and the #SBATCH header, quoted', () => {
    const script = buildBatchScript('#!/bin/bash\n#SBATCH --cpus-per-task=4\n\n#SBATCH --mem=1G\necho "$FERRY_FILE_SHA256"\n', env);
    expect(script).toBe(
      [
        '#!/bin/bash',
        '#SBATCH --cpus-per-task=4',
        '',
        '#SBATCH --mem=1G',
        '# Set by Ferry for this job:',
        "export FERRY_FILE_RELPATH='it'\\''s/a run.raw'",
        "export FERRY_FILE_SHA256='abc'",
        'echo "$FERRY_FILE_SHA256"',
        '',
      ].join('\n'),
    );
  });

  it('adds a shebang when there is none and skips names that are not variables', () => {
    const script = buildBatchScript('run-qc', { GOOD: '1', 'BAD-NAME': '2' });
    expect(script).toBe("#!/bin/sh\n# Set by Ferry for this job:\nexport GOOD='1'\nrun-qc\n");
  });
});

describe('Slurm answers', () => {
  it('reads the job id from sbatch --parsable', () => {
    expect(parseSbatchOutput('12345\n')).toBe('12345');
    expect(parseSbatchOutput('12345;cluster-a\n')).toBe('12345');
    expect(parseSbatchOutput('sbatch: warning: something\n777\n')).toBe('777');
    expect(parseSbatchOutput('Submitted batch job 12\n')).toBeUndefined();
    expect(parseSbatchOutput('')).toBeUndefined();
  });

  it('knows active states', () => {
    for (const s of ['PENDING', 'RUNNING', 'COMPLETING', 'configuring']) expect(isActiveState(s)).toBe(true);
    for (const s of ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', '']) expect(isActiveState(s)).toBe(false);
  });

  it('reads state and exit code from sacct, the job line first', () => {
    expect(parseSacctOutput('COMPLETED|0:0\nCOMPLETED|0:0\n')).toEqual({ state: 'COMPLETED', exitCode: 0, signal: 0 });
    expect(parseSacctOutput('FAILED|3:0\n')).toEqual({ state: 'FAILED', exitCode: 3, signal: 0 });
    expect(parseSacctOutput('CANCELLED by 1000|0:15\n')).toEqual({ state: 'CANCELLED', exitCode: 0, signal: 15 });
    expect(parseSacctOutput('OUT_OF_MEMORY+|0:125\n')).toEqual({ state: 'OUT_OF_MEMORY', exitCode: 0, signal: 125 });
    expect(parseSacctOutput('RUNNING|0:0\n')).toBeUndefined();
    expect(parseSacctOutput('\n')).toBeUndefined();
  });

  it('quotes for the shell', () => {
    expect(shellQuote("a'b c")).toBe("'a'\\''b c'");
  });
});
