// llama.cpp's side of the comparison, through node-llama-cpp (its prebuilt CPU binaries).
// Same measurements as engine-bench: prefill of --prompt tokens in one batch, decode of
// --decode tokens from position 0 for one sequence and for --batch concurrent sequences.
//   NODE_PATH=/path/to/node_modules node llamacpp_bench.mjs --model F --threads 2 ...
import {createRequire} from "node:module";
import path from "node:path";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const modelPath = args.model;
const threads = Number(args.threads ?? 2);
const prompt = Number(args.prompt ?? 512);
const decode = Number(args.decode ?? 64);
const batch = Number(args.batch ?? 8);

const require = createRequire(path.join(process.env.PEER_DIR ?? process.cwd(), "package.json"));
const {getLlama, LlamaLogLevel} = await import(require.resolve("node-llama-cpp"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error,
                              maxThreads: threads});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const nVocab = model.fileInsights.metadata?.llama?.vocab_size ?? 32000;

let seed = 1;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
const tokens = Array.from({length: Math.max(prompt, decode + 1)}, () => 3 + (rand() % (nVocab - 3)));

const now = () => Number(process.hrtime.bigint()) / 1e9;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const ctxSize = Math.max(prompt, decode + 1) + 64;

// Prefill.
let prefillTps = 0, prefillCpu = 0, decodeCpu = 0;
{
  const ctx = await model.createContext({contextSize: ctxSize, batchSize: Math.max(prompt, 8),
                                         threads, sequences: 1});
  const seq = ctx.getSequence();
  const t0 = now(), c0 = cpu();
  await seq.evaluateWithoutGeneratingNewTokens(tokens.slice(0, prompt));
  prefillTps = prompt / (now() - t0);
  prefillCpu = cpu() - c0;
  await ctx.dispose();
}

// Decode: n concurrent sequences, each fed one token per step (greedy), `decode` steps.
async function decodeRun(n) {
  const ctx = await model.createContext({contextSize: ctxSize * n, batchSize: 512, threads,
                                         sequences: n});
  const seqs = Array.from({length: n}, () => ctx.getSequence());
  const gens = seqs.map((s) => s.evaluate([tokens[0]], {temperature: 0}));
  await Promise.all(gens.map((g) => g.next()));  // warm-up step
  const t0 = now(), c0 = cpu();
  await Promise.all(gens.map(async (g) => {
    for (let i = 0; i < decode; i++) await g.next();
  }));
  const tps = decode * n / (now() - t0);
  if (n === 1) decodeCpu = cpu() - c0;
  await Promise.all(gens.map((g) => g.return()));
  await ctx.dispose();
  return tps;
}
const decodeTps = await decodeRun(1);
const batchTps = batch > 1 ? await decodeRun(batch) : 0;
const rssMib = process.resourceUsage().maxRSS / 1024;

console.log(`prefill ${prompt}      ${prefillTps.toFixed(2)} tok/s (${prefillCpu.toFixed(1)} CPU s)`);
console.log(`decode x1        ${decodeTps.toFixed(2)} tok/s (${(decodeCpu / decode).toFixed(2)} CPU s per token)`);
console.log(`decode x${batch}        ${batchTps.toFixed(2)} tok/s total (${(batchTps / decodeTps).toFixed(2)}x single)`);
console.log(`peak rss         ${rssMib.toFixed(1)} MiB (node process, includes the Node.js runtime)`);
console.log(JSON.stringify({engine: "llama.cpp", prefill_tps: prefillTps, decode_tps: decodeTps,
                            batch, batch_decode_tps: batchTps, peak_rss_mib: rssMib}));
await model.dispose();
