// @ag-ui/client's HttpAgent against quart-qa's AG-UI endpoint.
//
//   node agui_client.mjs <agent-url> '[{"question": "...", "tools": ["name", ...]}, ...]'
//
// Runs the agent with the question, offering the named tools as frontend tools: a call to one
// of them is answered here (as CopilotKit runs its frontend actions) and the agent runs again
// with the result. Then the first run once more over the raw event stream through the
// client's own verifier (verifyEvents). Prints one JSON object: each run's events and what it
// ended with, the agent's messages, and the verifier's verdict. One JSON array on stdout, one
// result a scenario.
import { HttpAgent, transformChunks, verifyEvents } from "@ag-ui/client";

const [url, scenarios] = process.argv.slice(2);
let question = "";
let toolNames = [];
let tools = [];

function newAgent(threadId) {
  return new HttpAgent({
    url,
    threadId,
    initialMessages: [{ id: "user-1", role: "user", content: question }],
  });
}

/** One runAgent: the client's full pipeline (chunks, verifier, message building). */
async function runOnce(agent) {
  const events = [];
  let runError = null;
  let failure = null;
  try {
    await agent.runAgent(
      { tools },
      {
        onEvent: ({ event }) => void events.push(event),
        onRunErrorEvent: ({ event }) => void (runError = event.message),
      },
    );
  } catch (error) {
    failure = String(error?.message ?? error);
  }
  return { events, runError, failure };
}

/** Frontend tool calls of the last run that have no result yet. */
function pendingCalls(agent) {
  const answered = new Set(agent.messages.filter((m) => m.role === "tool").map((m) => m.toolCallId));
  return agent.messages
    .flatMap((message) => message.toolCalls ?? [])
    .filter((call) => toolNames.includes(call.function.name) && !answered.has(call.id));
}

async function run() {
  const agent = newAgent("thread-run");
  const runs = [await runOnce(agent)];
  for (let round = 0; round < 3; round += 1) {
    const calls = pendingCalls(agent);
    if (calls.length === 0) break;
    for (const call of calls) {
      const output = { ran: "in node", arguments: JSON.parse(call.function.arguments) };
      agent.addMessage({ id: `result-${call.id}`, role: "tool", toolCallId: call.id, content: JSON.stringify(output) });
    }
    runs.push(await runOnce(agent));
  }
  return { runs, messages: agent.messages };
}

/** The raw stream through transformChunks and verifyEvents only: does the verifier accept? */
async function verify() {
  const agent = newAgent("thread-verify");
  const input = {
    threadId: "thread-verify",
    runId: "run-verify",
    state: {},
    messages: agent.messages,
    tools,
    context: [],
    forwardedProps: {},
  };
  const types = [];
  return new Promise((resolve) => {
    agent
      .run(input)
      .pipe(transformChunks(false), verifyEvents(false))
      .subscribe({
        next: (event) => types.push(event.type),
        error: (error) => resolve({ types, verifier: String(error?.message ?? error) }),
        complete: () => resolve({ types, verifier: "accepted" }),
      });
  });
}

const results = [];
for (const scenario of JSON.parse(scenarios)) {
  question = scenario.question;
  toolNames = scenario.tools ?? [];
  tools = toolNames.map((name) => ({
    name,
    description: `the ${name} tool`,
    parameters: { type: "object", properties: {} },
  }));
  results.push({ run: await run(), verify: await verify() });
}
process.stdout.write(JSON.stringify(results));
