// Bundles usechat/app.jsx (React + @ai-sdk/react's useChat) into one ES module with esbuild.
//
//   node build_usechat.mjs <out-file>
//
// The browser tests run it once per module and serve the bundle from the server's origin.
import * as esbuild from "esbuild";

const [outfile] = process.argv.slice(2);
await esbuild.build({
  entryPoints: [new URL("./usechat/app.jsx", import.meta.url).pathname],
  outfile,
  bundle: true,
  format: "esm",
  jsx: "automatic",
  minify: true,
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
process.stdout.write(JSON.stringify({ outfile }));
