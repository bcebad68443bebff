// A real useChat page (React + @ai-sdk/react), bundled by esbuild when the browser tests start.
// It talks to quart-qa's AI SDK endpoint exactly as a Next.js page would talk to its own route.
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithToolCalls } from "ai";
import { useState } from "react";
import { createRoot } from "react-dom/client";

const api = new URLSearchParams(location.search).get("api") ?? "/api/chat";

function Part({ part }) {
  if (part.type === "text") return <p data-testid="text">{part.text}</p>;
  if (part.type === "reasoning") return <p data-testid="reasoning">{part.text}</p>;
  if (part.type.startsWith("tool-")) {
    return (
      <div data-testid="tool" data-state={part.state} data-name={part.type.slice(5)}>
        <code data-testid="tool-input">{JSON.stringify(part.input ?? null)}</code>
        <code data-testid="tool-output">{JSON.stringify(part.output ?? null)}</code>
      </div>
    );
  }
  return null;
}

function App() {
  const [input, setInput] = useState("");
  const { messages, sendMessage, addToolOutput, status, error } = useChat({
    transport: new DefaultChatTransport({ api }),
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
    // The page's own tool: runs in the browser, its output goes back with the next request.
    onToolCall({ toolCall }) {
      if (toolCall.dynamic) return;
      addToolOutput({
        tool: toolCall.toolName,
        toolCallId: toolCall.toolCallId,
        output: { ran: "in the browser", input: toolCall.input },
      });
    },
  });
  return (
    <main>
      <p data-testid="status">{status}</p>
      {error ? <p data-testid="error">{error.message}</p> : null}
      {messages.map((message) => (
        <section key={message.id} data-testid={`message-${message.role}`}>
          {message.parts.map((part, index) => (
            <Part key={index} part={part} />
          ))}
        </section>
      ))}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          sendMessage({ text: input });
          setInput("");
        }}
      >
        <input data-testid="input" value={input} onChange={(event) => setInput(event.target.value)} />
        <button data-testid="send" type="submit" disabled={status !== "ready"}>Send</button>
      </form>
    </main>
  );
}

createRoot(document.getElementById("root")).render(<App />);
