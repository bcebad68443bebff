// Drives quart-qa with the Vercel AI SDK; prints one JSON object, a result per scenario.
// Usage: node ai_sdk_agents.mjs <base url, e.g. http://127.0.0.1:8000>
import { generateObject, stepCountIs, streamText, tool } from "ai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { z } from "zod";

globalThis.AI_SDK_LOG_WARNINGS = false; // the unknown model names warn on stderr
const base = process.argv[2];
const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey: "dummy" });
const anthropic = createAnthropic({ baseURL: `${base}/v1`, apiKey: "dummy" });
const MODEL = "quart-qa-fast";

function weatherTool(executed) {
  return tool({
    description: "The current weather in a city",
    inputSchema: z.object({ city: z.string(), unit: z.enum(["celsius", "fahrenheit"]) }),
    execute: async (input) => {
      executed.push(input);
      return { city: input.city, temperature: 21, sky: "sunny" };
    },
  });
}

async function agentLoop(name, model) {
  const executed = [];
  const result = streamText({
    model,
    prompt: "What is the weather in Paris?",
    tools: { get_weather: weatherTool(executed) },
    stopWhen: stepCountIs(5),
  });
  const partTypes = new Set();
  let reasoning = "";
  for await (const part of result.fullStream) {
    partTypes.add(part.type);
    if (part.type === "reasoning-delta") reasoning += part.text;
    if (part.type === "error") throw part.error;
  }
  const steps = await result.steps;
  return {
    name,
    executed,
    text: await result.text,
    steps: steps.length,
    finishReasons: steps.map((step) => step.finishReason),
    reasoning,
    partTypes: [...partTypes].sort(),
  };
}

const Recipe = z.object({
  name: z.string(),
  servings: z.number().int(),
  ingredients: z.array(z.object({ item: z.string(), amount: z.string() })),
});

async function objectOf(name, model, prompt) {
  const { object } = await generateObject({ model, schema: Recipe, prompt });
  return { name, object };
}

const scenarios = {
  "responses-agent": () => agentLoop("responses-agent", openai(MODEL)),
  "chat-agent": () => agentLoop("chat-agent", openai.chat(MODEL)),
  "anthropic-agent": () => agentLoop("anthropic-agent", anthropic(MODEL)),
  "responses-object": () => objectOf("responses-object", openai(MODEL), "A pancake recipe"),
  "chat-object": () => objectOf("chat-object", openai.chat(MODEL), "A pancake recipe"),
  "anthropic-object": () => objectOf("anthropic-object", anthropic(MODEL), "Any recipe"),
};

const results = {};
for (const [name, run] of Object.entries(scenarios)) {
  try {
    results[name] = await run();
  } catch (error) {
    results[name] = { name, error: String(error?.stack ?? error) };
  }
}
console.log(JSON.stringify(results));
