/**
 * `longrun completion bash|zsh` from the built CLI. The bash script is sourced into a real bash,
 * which is asked what it completes (COMP_WORDS/COMP_CWORD in, COMPREPLY out). This machine has no
 * zsh, so the zsh script is checked for its structure: header, every command, option and choice.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option } from 'commander';
import { buildProgram } from '../../src/cli';
import { bashCompletion, completionModel, zshCompletion } from '../../src/cli/completion';
import { DURABILITY_LEVELS } from '../../src/shared/durability';
import { LIFECYCLE_STATES } from '../../src/shared/lifecycle';

const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'longrun-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function longrun(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'longrun.js'), ...args], (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
    );
  });
}

/** Sources `script` into a fresh bash and runs `commands` there; returns what they printed. */
function inBash(script: string, commands: string): string {
  const path = join(dir, `completion-${Math.random().toString(36).slice(2)}.bash`);
  writeFileSync(path, script);
  return execFileSync(
    'bash',
    ['--norc', '--noprofile', '-c', `source ${JSON.stringify(path)}\n${commands}`],
    {
      encoding: 'utf8',
    }
  );
}

/** The words bash offers for the command line `words` (the last one is being completed). */
function offered(script: string, ...words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const out = inBash(
    script,
    `COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _longrun; printf '%s\\n' "\${COMPREPLY[@]}"`
  );
  return out.split('\n').filter(Boolean);
}

const program = buildProgram();
// Read from commander directly (not through completionModel), plus the help command it adds itself.
const commandNames = [...program.commands.map((c) => c.name()), 'help'];
const optionsOf = (name: string): string[] =>
  completionModel(program)
    .find((c) => c.name === name)!
    .options.flatMap((o) => o.names);

describe('bash completion', () => {
  let script: string;
  beforeAll(async () => {
    const printed = await longrun('completion', 'bash');
    expect(printed.code).toBe(0);
    script = printed.stdout;
  });

  it('registers the function for longrun, falling back to file names', () => {
    expect(inBash(script, 'complete -p longrun')).toBe('complete -o default -F _longrun longrun\n');
  });

  it('offers every command of the program, and those starting with what is typed', () => {
    expect(offered(script, 'longrun', '')).toEqual([...commandNames, '-h', '--help']);
    expect(commandNames).toEqual(
      expect.arrayContaining(['start', 'watch', 'rollback', 'completion', 'help'])
    );
    expect(offered(script, 'longrun', 'ch')).toEqual(['checkpoints', 'checkpoint']);
  });

  it("offers a command's own options, after other options and values too", () => {
    expect(offered(script, 'longrun', 'list', '--')).toEqual([
      '--state',
      '--agent',
      '--running',
      '--limit',
      '--json',
      '--help',
    ]);
    expect(offered(script, 'longrun', 'list', '--')).toEqual(optionsOf('list').filter((o) => o !== '-h'));
    expect(offered(script, 'longrun', 'watch', 'my-task', '--interval', '500', '--j')).toEqual(['--json']);
    expect(offered(script, 'longrun', 'dev', '--no')).toEqual(['--no-demo']);
  });

  it("offers an option's fixed choices, and nothing of its own for a free value", () => {
    expect(offered(script, 'longrun', 'dev', '--durability', '')).toEqual([...DURABILITY_LEVELS]);
    expect(offered(script, 'longrun', 'list', '--state', '')).toEqual([...LIFECYCLE_STATES]);
    expect(offered(script, 'longrun', 'list', '--running', '--state', 'pa')).toEqual(['paused']);
    expect(offered(script, 'longrun', 'extend', 'my-task', '--by', '')).toEqual([]);
  });

  it("offers an argument's choices by position: the shell to complete, the command to explain", () => {
    expect(offered(script, 'longrun', 'completion', '')).toEqual(['bash', 'zsh']);
    expect(offered(script, 'longrun', 'help', 'wa')).toEqual(['watch']);
    expect(offered(script, 'longrun', 'rollback', '--json', 'my-task', '')).toEqual([]);
  });

  it('follows the program: a new command with a choice option is completed without other changes', () => {
    const extended = buildProgram();
    extended
      .command('brew')
      .addOption(new Option('--roast <level>', 'how dark').choices(['light', 'dark']))
      .option('--cups <n>', 'how many');
    const generated = bashCompletion(extended);
    expect(offered(generated, 'longrun', 'br')).toEqual(['brew']);
    expect(offered(generated, 'longrun', 'brew', '--')).toEqual(['--roast', '--cups', '--help']);
    expect(offered(generated, 'longrun', 'brew', '--roast', '')).toEqual(['light', 'dark']);
  });
});

describe('zsh completion (structure: no zsh on this machine to run it)', () => {
  let script: string;
  beforeAll(async () => {
    script = (await longrun('completion', 'zsh')).stdout;
  });

  it('starts with #compdef longrun and registers itself when sourced', () => {
    expect(script.split('\n')[0]).toBe('#compdef longrun');
    expect(script).toContain("_describe -t commands 'longrun command' commands");
    expect(script.trimEnd().endsWith('compdef _longrun longrun\nfi')).toBe(true);
    expect(script).toBe(zshCompletion(program));
  });

  it('describes every command and lists every option of each in its own case', () => {
    const described = [...script.matchAll(/^ {4}'([a-z]+):/gm)].map((m) => m[1]);
    expect(described).toEqual(commandNames);
    for (const command of completionModel(program)) {
      const block = script.match(new RegExp(`\\n {4}${command.name}\\)\\n([\\s\\S]*?)\\n {6};;`))?.[1];
      expect(block).toBeDefined();
      for (const option of command.options) {
        if (option.names.length === 2) expect(block).toContain(`{${option.names.join(',')}}`);
        else expect(block).toContain(`'${option.variadic ? '*' : ''}${option.names[0]}[`);
      }
      for (const arg of command.args) expect(block).toContain(`':${arg.name}:`);
    }
  });

  it('gives options and arguments with fixed choices those choices', () => {
    expect(script).toContain(`'--durability[durability level]:durability:(${DURABILITY_LEVELS.join(' ')})'`);
    expect(script).toContain(`:state:(${LIFECYCLE_STATES.join(' ')})'`);
    expect(script).toContain("':shell:(bash zsh)'");
    expect(script).toContain(`':command:(${commandNames.join(' ')})'`);
  });

  it('escapes quotes and brackets in descriptions', () => {
    expect(script).toContain(`'status:show a task'\\''s state, progress bar`);
    const extended = buildProgram();
    extended.command('odd').option('--x <v>', 'a [bracketed] thing');
    expect(zshCompletion(extended)).toContain("'--x[a \\[bracketed\\] thing]:x:_default'");
  });
});

it('refuses a shell it cannot complete, naming the argument and the choices (exit 2)', async () => {
  const fish = await longrun('completion', 'fish');
  expect(fish.code).toBe(2);
  expect(fish.stderr).toMatch(
    /^error: command-argument value 'fish' is invalid for argument 'shell'\. Allowed choices are bash, zsh\.\n/
  );
});
