/**
 * The Dockerfile lint CI runs in place of hadolint (not installable here: no Debian package,
 * and its npm wrappers download a binary). Two layers:
 *  - dockerfile-utils' validator (the one behind VS Code's Docker support): syntax, flags,
 *    instruction arguments, deprecated forms;
 *  - the rules that matter for this image, which are the hadolint checks we would rely on
 *    (DL3007 no `latest`, DL3006 pinned base, DL3002 last USER not root, DL3020 COPY not ADD,
 *    DL3025 JSON CMD) plus our own: multi-stage, HEALTHCHECK on /healthz, `--frozen-lockfile`,
 *    production-only dependencies in the final stage, no secrets in ENV/ARG, DATA_DIR a volume.
 */
import { DockerfileParser, ModifiableInstruction, type Instruction } from 'dockerfile-ast'
import { validate } from 'dockerfile-utils'

export interface DockerfileProblem {
  rule: string
  line: number
  message: string
}

interface Stage {
  name: string | null
  base: string
  line: number
  instructions: Instruction[]
}

const SECRET_NAME = /secret|password|passwd|token|api_?key|access_?key|private_?key|credential/i

const lineOf = (instruction: Instruction) => instruction.getRange().start.line + 1
const args = (instruction: Instruction) => instruction.getArgumentsContent() ?? ''
/** The value of a flag such as `--from=deps` (dockerfile-ast keeps flags apart from the arguments). */
const flag = (instruction: Instruction, name: string): string | null =>
  instruction instanceof ModifiableInstruction ? (instruction.getFlags().find((f) => f.getName() === name)?.getValue() ?? null) : null

function stagesOf(text: string): Stage[] {
  const dockerfile = DockerfileParser.parse(text)
  const stages: Stage[] = []
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile.getFROMs().find((f) => lineOf(f) === lineOf(instruction))!
      stages.push({ name: from.getBuildStage(), base: from.getImage() ?? '', line: lineOf(instruction), instructions: [] })
    } else stages.at(-1)?.instructions.push(instruction)
  }
  return stages
}

/** Names an ENV or ARG declares: every `NAME=` of the key=value form, else the first word (`ENV NAME value`). */
const declaredNames = (content: string): string[] =>
  content.includes('=') ? [...content.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!) : [content.trim().split(/\s+/)[0]!]

/** `bun install` runs of a stage (RUN lines, shell form). */
const bunInstalls = (stage: Stage) => stage.instructions.filter((i) => i.getKeyword() === 'RUN' && /\bbun\s+(install|i)\b/.test(args(i)))

/**
 * Lints a Dockerfile's text; an empty list means it passes.
 * @example
 * lintDockerfile(await Bun.file('Dockerfile').text()) // → []
 */
export function lintDockerfile(text: string): DockerfileProblem[] {
  const problems: DockerfileProblem[] = []
  const add = (rule: string, line: number, message: string) => problems.push({ rule, line, message })

  for (const diagnostic of validate(text))
    add('dockerfile-utils', diagnostic.range.start.line + 1, `${diagnostic.message}${diagnostic.severity === 2 ? ' (warning)' : ''}`)

  const stages = stagesOf(text)
  if (stages.length === 0) {
    add('no-from', 1, 'no FROM instruction')
    return problems
  }
  const stageNames = new Set(stages.map((s) => s.name).filter(Boolean))
  if (stages.length < 2) add('multi-stage', 1, 'use a multi-stage build: install in one stage, copy only what runs into the final one')

  for (const stage of stages) {
    if (stageNames.has(stage.base)) continue
    const tag = /:([^/@]+)$/.exec(stage.base)?.[1]
    if (!/@sha256:[a-f0-9]{64}$/.test(stage.base) && (!tag || tag === 'latest' || !/\d/.test(tag)))
      add('pinned-base', stage.line, `base image "${stage.base}" must be pinned to a version tag or digest (never latest)`)
    if (!/^(docker\.io\/)?oven\/bun[:@]/.test(stage.base)) add('official-bun', stage.line, `base image "${stage.base}" is not the official Bun image (oven/bun)`)
  }
  const bunVersions = new Set(stages.map((s) => /^(?:docker\.io\/)?oven\/bun:(\d+\.\d+\.\d+)/.exec(s.base)?.[1]).filter(Boolean))
  if (bunVersions.size > 1) add('official-bun', 1, `stages use different Bun versions (${[...bunVersions].join(', ')})`)

  for (const stage of stages)
    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword()
      const line = lineOf(instruction)
      const content = args(instruction)
      if (keyword === 'RUN' && /\b(npm|yarn|pnpm)\s+(install|i|ci|add)\b|\bbun\s+add\b/.test(content))
        add('frozen-lockfile', line, 'install dependencies with `bun install --frozen-lockfile` only (bun.lock is the source of truth)')
      if (keyword === 'RUN' && /\bbun\s+(install|i)\b/.test(content) && !content.includes('--frozen-lockfile'))
        add('frozen-lockfile', line, '`bun install` must use --frozen-lockfile')
      if (keyword === 'ADD') add('copy-not-add', line, 'use COPY; ADD fetches URLs and unpacks archives implicitly')
      if (keyword === 'ENV' || keyword === 'ARG')
        for (const name of declaredNames(content))
          if (SECRET_NAME.test(name)) add('no-secrets', line, `${keyword} ${name} bakes a secret into the image layers; pass it at run time`)
      if (keyword === 'MAINTAINER') add('deprecated', line, 'MAINTAINER is deprecated; use a LABEL')
    }

  const final = stages.at(-1)!
  const finalOf = (keyword: string) => final.instructions.filter((i) => i.getKeyword() === keyword)

  const lastUser = finalOf('USER').at(-1)
  const user = lastUser ? args(lastUser).trim() : ''
  if (!lastUser) add('non-root', final.line, 'the final stage has no USER: the container would run as root')
  else if (/^(root|0)(:.*)?$/.test(user)) add('non-root', lineOf(lastUser), `the final USER is ${user}; run as an unprivileged user`)

  const healthcheck = finalOf('HEALTHCHECK').at(-1)
  const probe = healthcheck ? args(healthcheck) : ''
  if (!healthcheck || /^\s*NONE\b/i.test(probe)) add('healthcheck', final.line, 'the final stage needs a HEALTHCHECK')
  // scripts/healthcheck.ts without a URL probes /healthz on PORT.
  else if (!/\/healthz\b/.test(probe) && !/scripts\/healthcheck\.ts"?\s*\]?\s*$/.test(probe))
    add('healthcheck', lineOf(healthcheck), 'the HEALTHCHECK must probe /healthz')

  const cmd = finalOf('CMD').at(-1)
  if (!cmd) add('cmd', final.line, 'the final stage needs a CMD')
  else if (!args(cmd).trim().startsWith('[')) add('cmd', lineOf(cmd), 'write CMD in JSON (exec) form so SIGTERM reaches bun')

  // Production-only dependencies: the final stage installs with --production, or copies
  // node_modules from a stage that did (and never from one that installed dev dependencies).
  const installsHere = bunInstalls(final)
  const copiedFrom = finalOf('COPY')
    .map((copy) => ({ copy, from: flag(copy, 'from') }))
    .filter(({ copy, from }) => from && /node_modules/.test(args(copy)))
  const productionOnly = (stage: Stage | undefined) => {
    const installs = stage ? bunInstalls(stage) : []
    return installs.length > 0 && installs.every((i) => /--production\b|--omit[= ]dev\b/.test(args(i)))
  }
  if (installsHere.length === 0 && copiedFrom.length === 0) add('production-deps', final.line, 'the final stage gets no node_modules')
  for (const install of installsHere)
    if (!/--production\b/.test(args(install))) add('production-deps', lineOf(install), 'the final stage must install with --production')
  for (const { copy, from } of copiedFrom)
    if (!productionOnly(stages.find((s) => s.name === from)))
      add('production-deps', lineOf(copy), `node_modules comes from stage "${from}", which does not install with --production`)

  const dataDir = finalOf('ENV')
    .map((env) => /\bDATA_DIR[= ]"?([^\s"\\]+)/.exec(args(env))?.[1])
    .filter(Boolean)
    .at(-1)
  const volumes = finalOf('VOLUME').flatMap((v) => args(v).replace(/[[\]",]/g, ' ').split(/\s+/).filter(Boolean))
  if (!dataDir) add('data-volume', final.line, 'the final stage must set DATA_DIR')
  else if (!volumes.includes(dataDir)) add('data-volume', final.line, `DATA_DIR (${dataDir}) must be declared a VOLUME`)

  return problems.sort((a, b) => a.line - b.line)
}

export interface StageSteps {
  name: string | null
  base: string
  workdir: string | null
  /** COPY instructions in order: `from` is a stage name, or null for the build context. */
  copies: Array<{ from: string | null; sources: string[]; target: string }>
  /** RUN commands (shell form) in order. */
  runs: string[]
  env: Record<string, string>
  /** HEALTHCHECK's command (exec form), or [] when there is none. */
  healthcheck: string[]
  cmd: string[]
}

/**
 * What each stage does, in the order written: for tests that replay the build outside Docker
 * (tests/ops/compose-commands.test.ts lays out the image's files this way).
 * @example
 * const runtime = describeStages(await Bun.file('Dockerfile').text()).at(-1)!
 */
export function describeStages(text: string): StageSteps[] {
  return stagesOf(text).map((stage) => {
    const of = (keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword)
    const copies = of('COPY').map((copy) => {
      const paths = copy.getArguments().map((a) => a.getValue())
      return { from: flag(copy, 'from'), sources: paths.slice(0, -1), target: paths.at(-1)! }
    })
    const env: Record<string, string> = {}
    for (const instruction of of('ENV'))
      for (const match of args(instruction).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[match[1]!] = match[2]!.replace(/^"|"$/g, '')
    const json = (instruction: Instruction | undefined, strip: RegExp) =>
      instruction ? (JSON.parse(args(instruction).replace(strip, '').trim()) as string[]) : []
    return {
      name: stage.name,
      base: stage.base,
      workdir: of('WORKDIR').at(-1) ? args(of('WORKDIR').at(-1)!).trim() : null,
      copies,
      runs: of('RUN').map(args),
      env,
      healthcheck: json(of('HEALTHCHECK').at(-1), /^[\s\S]*?\bCMD\b/),
      cmd: json(of('CMD').at(-1), /^$/),
    }
  })
}
