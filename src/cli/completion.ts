/**
 * `longrun completion bash|zsh`: completion scripts generated from the commander program itself
 * (its commands, their options, and the choices of options and arguments), so they cannot drift.
 */
import { Argument, type Command } from 'commander';
import { print } from './io';

export const SHELLS = ['bash', 'zsh'] as const;

export interface CompletedOption {
  /** `--json`, or `-h` and `--help` */
  names: string[];
  description: string;
  takesValue: boolean;
  variadic: boolean;
  choices: readonly string[] | undefined;
}

export interface CompletedCommand {
  name: string;
  description: string;
  options: CompletedOption[];
  /** Positional arguments in order, with their choices when fixed. */
  args: { name: string; choices: readonly string[] | undefined }[];
}

function optionNames(o: { short?: string | undefined; long?: string | undefined }): string[] {
  return [o.short, o.long].filter((n): n is string => n !== undefined);
}

/** What completion offers, read from the program as its help would list it (the `help` command too). */
export function completionModel(program: Command): CompletedCommand[] {
  const help = program.createHelp();
  const commands = help.visibleCommands(program);
  const names = commands.map((c) => c.name());
  return commands.map((command) => ({
    name: command.name(),
    description: command.description(),
    options: help.visibleOptions(command).map((o) => ({
      names: optionNames(o),
      description: o.description,
      takesValue: o.required || o.optional,
      variadic: o.variadic,
      choices: o.argChoices,
    })),
    // The implicit `help [command]` takes a command name.
    args: command.registeredArguments.map((a) => ({
      name: a.name(),
      choices: a.argChoices ?? (command.name() === 'help' ? names : undefined),
    })),
  }));
}

/** A single-quoted shell word (bash and zsh alike). */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const words = (list: readonly string[]) => quote(list.join(' '));

export function bashCompletion(program: Command): string {
  const model = completionModel(program);
  const top = [
    ...model.map((c) => c.name),
    ...program.createHelp().visibleOptions(program).flatMap(optionNames),
  ];
  const perCommand = model.map((c) => {
    const valued = c.options.filter((o) => o.takesValue).flatMap((o) => o.names);
    const args = c.args.map((a) => (a.choices ? words(a.choices) : "''"));
    return `    ${c.name}) options=${words(c.options.flatMap((o) => o.names))}; valued=${words(valued)}; args=(${args.join(' ')}) ;;`;
  });
  const choices = model.flatMap((c) =>
    c.options
      .filter((o) => o.choices)
      .map((o) => {
        const pattern = o.names.map((n) => quote(`${c.name} ${n}`)).join('|');
        return `    ${pattern}) COMPREPLY=($(compgen -W ${words(o.choices ?? [])} -- "$cur")); return 0 ;;`;
      })
  );
  return `# bash completion for longrun, generated from its commands by \`longrun completion bash\`
_longrun() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local cmd='' at=0 i n=0 options='' valued='' args=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ \${COMP_WORDS[i]} != -* ]]; then cmd=\${COMP_WORDS[i]}; at=$i; break; fi
  done
  case $cmd in
    '') COMPREPLY=($(compgen -W ${words(top)} -- "$cur")); return 0 ;;
${perCommand.join('\n')}
    *) return 0 ;;
  esac
  case "$cmd $prev" in
${choices.join('\n')}
  esac
  # The value of an option without fixed choices: the shell's default (file names).
  if [[ " $valued " == *" $prev "* ]]; then return 0; fi
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$options" -- "$cur")); return 0; fi
  # Which positional argument this is: the words after the command that are not options or their values.
  for ((i = at + 1; i < COMP_CWORD; i++)); do
    if [[ \${COMP_WORDS[i]} != -* ]]; then n=$((n + 1));
    elif [[ " $valued " == *" \${COMP_WORDS[i]} "* ]]; then i=$((i + 1)); fi
  done
  if [[ -n \${args[n]-} ]]; then COMPREPLY=($(compgen -W "\${args[n]}" -- "$cur")); fi
  return 0
}
complete -o default -F _longrun longrun
`;
}

/** Text inside an _arguments `[...]` description. */
function zshText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\[/g, '\\[').replace(/\]/g, '\\]');
}

function zshAction(choices: readonly string[] | undefined): string {
  return choices ? `(${choices.join(' ')})` : '_default';
}

function zshOption(o: CompletedOption): string {
  const value = o.takesValue
    ? `:${o.names.at(-1)?.replace(/^-+/, '') ?? 'value'}:${zshAction(o.choices)}`
    : '';
  const spec = `[${zshText(o.description)}]${value}`;
  if (o.names.length > 1) return `${quote(`(${o.names.join(' ')})`)}{${o.names.join(',')}}${quote(spec)}`;
  return quote(`${o.variadic ? '*' : ''}${o.names[0] ?? ''}${spec}`);
}

export function zshCompletion(program: Command): string {
  const model = completionModel(program);
  const described = model.map((c) => `    ${quote(`${c.name}:${c.description}`)}`);
  const cases = model.map((c) => {
    const specs = [
      ...c.options.map(zshOption),
      ...c.args.map((a) => quote(`:${a.name}:${zshAction(a.choices)}`)),
    ];
    return `    ${c.name})\n      _arguments -s \\\n        ${specs.join(' \\\n        ')}\n      ;;`;
  });
  return `#compdef longrun
# zsh completion for longrun, generated from its commands by \`longrun completion zsh\`

_longrun() {
  local -a commands
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'longrun command' commands
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join('\n')}
  esac
}

# Autoloaded from fpath the file is the function's body; sourced, it registers the function.
if [[ "$funcstack[1]" == _longrun ]]; then
  _longrun "$@"
else
  compdef _longrun longrun
fi
`;
}

export function addCompletionCommand(program: Command): void {
  program
    .command('completion')
    .helpGroup('Commands:')
    .description('print a shell completion script: eval "$(longrun completion bash)" (see docs)')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .action((shell: (typeof SHELLS)[number]) => {
      print(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
