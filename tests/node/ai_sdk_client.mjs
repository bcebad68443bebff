// The AI SDK's own client code against quart-qa's UI message stream endpoint.
//
//   node ai_sdk_client.mjs <api-url> '[{"mode": "read" | "chat", "question": "..."}, ...]'
//
// read: DefaultChatTransport sends the request as useChat does, readUIMessageStream builds the
// message. chat: the framework-free Chat (AbstractChat) runs client-side tools in a loop.
// Prints a JSON array on stdout, one result a scenario: what the SDK made of the stream. The
// Python tests (tests/dialects/test_frontend_clients.py) compare it with the script.
import {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithToolCalls,
  readUIMessageStream,
} from "ai";

const [api, scenarios] = process.argv.slice(2);
const transport = new DefaultChatTransport({ api });

/** One request as useChat sends it, read by readUIMessageStream. */
async function read(question) {
  const errors = [];
  const stream = await transport.sendMessages({
    chatId: "chat-node",
    messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: question }] }],
    trigger: "submit-message",
    messageId: undefined,
    abortSignal: undefined,
  });
  const chunks = [];
  const recorded = stream.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        chunks.push(chunk.type);
        controller.enqueue(chunk);
      },
    }),
  );
  let message = null;
  for await (const snapshot of readUIMessageStream({
    stream: recorded,
    onError: (error) => errors.push(String(error?.message ?? error)),
  })) {
    message = snapshot;
  }
  return { message, errors, chunks };
}

/** The state AbstractChat needs, as plain arrays (what @ai-sdk/react keeps in React state). */
class PlainState {
  status = "ready";
  error = undefined;
  messages = [];
  pushMessage = (message) => this.messages.push(message);
  popMessage = () => this.messages.pop();
  replaceMessage = (index, message) => (this.messages[index] = message);
  snapshot = (thing) => structuredClone(thing);
}

class Chat extends AbstractChat {
  constructor(init) {
    super({ ...init, state: new PlainState() });
  }
  get messages() {
    return this.state.messages;
  }
}

/** A conversation with client-side tools: each call is answered here and sent back. */
async function chat(question) {
  const toolCalls = [];
  const errors = [];
  let requests = 0;
  let settled;
  const done = new Promise((resolve) => (settled = resolve));
  const counting = new DefaultChatTransport({
    api,
    fetch: (url, init) => {
      requests += 1;
      return fetch(url, init);
    },
  });
  const conversation = new Chat({
    transport: counting,
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
    onToolCall: ({ toolCall }) => {
      toolCalls.push({ name: toolCall.toolName, input: toolCall.input });
      void conversation.addToolOutput({
        tool: toolCall.toolName,
        toolCallId: toolCall.toolCallId,
        output: { ran: "in node", input: toolCall.input },
      });
    },
    onError: (error) => errors.push(error.message),
    // A response that ends with client-side tool calls is followed by the next request
    // (sendAutomaticallyWhen); any other end is the end of the conversation's turn.
    onFinish: ({ isError, isAbort, finishReason }) => {
      if (isError || isAbort || finishReason !== "tool-calls") settled();
    },
  });
  await conversation.sendMessage({ text: question });
  await done;
  return { messages: conversation.messages, toolCalls, errors, requests, status: conversation.status };
}

const results = [];
for (const { mode, question } of JSON.parse(scenarios)) {
  results.push(mode === "chat" ? await chat(question) : await read(question));
}
process.stdout.write(JSON.stringify(results));
