/**
 * Agent loops: `agentAction` builds one over a tool registry (`defineTool`); `agent.run` is the
 * built-in one with the file, shell and HTTP tools.
 */
export { agentAction, agentRunAction } from './agent-loop';
export type { AgentActionOptions, AgentCursor } from './agent-loop';
export {
  builtinTools,
  defineTool,
  deleteFileTool,
  httpTool,
  listFilesTool,
  readFileTool,
  shellTool,
  toolDefinition,
  writeFileTool,
} from './tools';
export type { AgentTool, ToolEnv } from './tools';
